#!/bin/busybox sh
# /init of a kernel-matrix guest (scripts/kernel-matrix.sh builds the initramfs around it).
# Mounts what the tracer needs, loads the ext4 modules, mounts an ext4 image, runs
# `osprey trace --list` and the scenario under `osprey trace --capture ...`, hashes the real
# files and the captured ones, sends everything back on the second serial port (base64 of a
# tar.gz between two marker lines) and powers off. Never stops on an error: whatever happened
# is sent back, and the host-side checker says what is missing.

/bin/busybox --install -s /bin
export PATH=/bin:/usr/local/bin
R=/results
CAP=/cap
mkdir -p $R $CAP /proc /sys /dev /tmp /mnt/ext4 /scratch

say() { echo "km-init: $*" > /dev/console; }

mount_all() {
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	mount -t tmpfs tmpfs /tmp
	mount -t tracefs tracefs /sys/kernel/tracing
	mount -t debugfs debugfs /sys/kernel/debug
	mount -t securityfs securityfs /sys/kernel/security
	mount -t bpf bpf /sys/fs/bpf
	mount -t cgroup2 cgroup2 /sys/fs/cgroup
	mount -t tmpfs -o size=300m tmpfs /scratch
	ip link set lo up
	hostname osprey-km
}

# /km/modules/order: the modules to load, dependencies first (resolved on the host)
load_modules() {
	while read -r m; do
		if insmod /km/modules/"$m" 2>> $R/modules.txt; then
			echo "loaded $m" >> $R/modules.txt
		else
			echo "FAILED $m" >> $R/modules.txt
		fi
	done < /km/modules/order
}

mount_ext4() {
	cp /opt/km/ext4.img /scratch/ext4.img &&
		mount -t ext4 -o loop /scratch/ext4.img /mnt/ext4 &&
		grep ' /mnt/ext4 ' /proc/mounts > $R/ext4-mount.txt
}

run_trace() {
	# OSPREY_BPF_DEBUG: libbpf's messages (the verifier's reasons) go to list.stderr
	start=$(date +%s)
	OSPREY_BPF_DEBUG=1 osprey trace --list > $R/list.txt 2> $R/list.stderr
	echo $? > $R/list.rc
	echo $(($(date +%s) - start)) > $R/list.seconds
	say "tracing the scenario"
	set -- -e "$(cat /opt/km/events)" -o json:$R/events.json \
		--buffer-size 32 --capture-buffer-size 32 \
		--capture exec --capture 'write=/mnt/ext4/*' --capture mem --capture module \
		--capture net=lo --capture dir:$CAP
	echo "osprey trace $*" > $R/trace.cmdline
	start=$(date +%s)
	osprey trace "$@" -- /opt/km/scenario.sh > $R/trace.stdout 2> $R/trace.stderr &
	watch_trace $! 300
	wait $!
	echo $? > $R/trace.rc
	echo $(($(date +%s) - start)) > $R/trace.seconds
}

# The storm (check.py's preempt group) under a trace of its own: 4 tasks on 2 CPUs creating,
# writing and unlinking files at full speed, so that on kernels with full or lazy preemption
# they preempt each other inside the tracer's programs. What it may lose there (the kernel skips
# a busy program) must be counted, and must not blur the scenario's own columns.
run_storm() {
	say "tracing the storm"
	osprey trace -e openat,security_file_open,magic_write,security_inode_unlink \
		-o json:$R/storm.json -- /opt/km/km-actions storm /tmp/storm 4 300 \
		> $R/storm.stdout 2> $R/storm.stderr &
	watch_trace $! 300
	wait $!
	echo $? > $R/storm.rc
}

# The hooks group (check.py's check_hooks): the test module built for this kernel (km_hook.ko;
# none where it could not be built) loaded and unloaded by hook.sh under a trace of the two
# integrity events and their signatures; then a second trace, of a kernel the module has left,
# that must report nothing.
run_hooks() {
	[ -f /opt/km/km_hook.ko ] || return 0
	say "tracing the hooks"
	set -- -e hooked_syscall,hooked_proc_fops --signatures TRC-1020,TRC-1030
	osprey trace "$@" -o json:$R/hook.json -- /opt/km/hook.sh \
		> $R/hook.stdout 2> $R/hook.stderr &
	watch_trace $! 120 hook
	wait $!
	echo $? > $R/hook.rc
	osprey trace "$@" -o json:$R/hook-after.json -- sleep 11 \
		> $R/hook-after.stdout 2> $R/hook-after.stderr &
	watch_trace $! 120 hook-after
	wait $!
	echo $? > $R/hook-after.rc
}

# Waits for the tracer (PID) for at most LIMIT seconds. Past that, records what every process
# is doing (a hang in the scenario: which process, in which state, where in the kernel) and
# stops the tracer with SIGINT (SIGKILL 30 s later). NAME (default: trace) names the files
# that say so (NAME.timeout, and for the scenario hang-processes.txt).
watch_trace() {
	name=${3:-trace}
	n=0
	while kill -0 "$1" 2> /dev/null; do
		sleep 1
		n=$((n + 1))
		[ $n -eq "$2" ] || continue
		say "the trace has run for $2 s: stopping it"
		echo "$2" > $R/$name.timeout
		for p in /proc/[0-9]*; do
			[ -r $p/status ] || continue
			printf '%s %s %s ppid=%s wchan=%s syscall=%s\n' "${p#/proc/}" "$(cat $p/comm)" \
				"$(grep '^State:' $p/status | cut -f2)" "$(grep '^PPid:' $p/status | cut -f2)" \
				"$(cat $p/wchan 2> /dev/null)" "$(cut -d' ' -f1 $p/syscall 2> /dev/null)"
		done > $R/$([ "$name" = trace ] && echo hang-processes || echo "$name-hang-processes").txt 2> /dev/null
		kill -INT "$1"
	done
	[ $n -lt "$2" ] || { sleep 30; kill -KILL "$1" 2> /dev/null; }
}

# SHA-256 of the real files (those the scenario left, plus what it recorded before deleting)
# and of every file the capture stored; stat of the files the events describe
hash_files() {
	find /mnt/ext4/work /opt/km /bin/busybox $R/wx-region.bin -type f 2> /dev/null | sort |
		xargs sha256sum > $R/real.sha256
	cat $R/deleted.sha256 >> $R/real.sha256 2> /dev/null
	if [ -d $CAP/out ]; then
		(cd $CAP/out && find . -type f | sort | xargs sha256sum) > $R/captured.sha256
		cp $CAP/out/artifacts.jsonl $R/artifacts.jsonl 2> /dev/null
		ls -lR $CAP/out > $R/capture-listing.txt
	fi
	find /mnt/ext4/work /opt/km /bin/busybox -type f | sort |
		xargs stat -c '%n|%i|%d|%s|%f' > $R/stat.txt
	cat $R/deleted.stat >> $R/stat.txt 2> /dev/null
}

describe_guest() {
	uname -r > $R/uname.txt
	cat /proc/cmdline > $R/cmdline.txt
	cat /sys/kernel/security/lsm > $R/lsm.txt 2> /dev/null
	cat /proc/cpuinfo | grep -m1 'model name' > $R/cpu.txt
	dmesg > $R/dmesg.txt
}

send_results() {
	stty -F /dev/ttyS1 raw -echo 2> /dev/null
	{
		echo "KM-RESULTS-BEGIN"
		tar -C $R -cz . | base64
		echo "KM-RESULTS-END"
	} > /dev/ttyS1
}

mount_all
say "kernel $(uname -r)"
load_modules
mount_ext4 || say "ext4 mount failed"
run_trace
run_storm
run_hooks
hash_files
describe_guest
say "sending results"
send_results
sync
say "done"
poweroff -f
