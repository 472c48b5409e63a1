#!/bin/sh
# The kernel-matrix scenario: run in each guest by init.sh, under
# `osprey trace --capture ... -- /opt/km/scenario.sh`. One function per group of the matrix
# table (check.py holds what each group must produce). Deterministic on purpose: fixed names,
# ports and contents, no sleeps and no races, so the events are the same on every kernel.
# Each step's exit status goes to /results/steps.txt; the script exits with the number of
# failed steps.

W=/mnt/ext4/work          # on ext4 (a loop-mounted image): file events, written-file capture
KM=/opt/km                # the helpers, in the initramfs
A=$KM/km-actions
R=/results
failed=0

step() {
	name=$1
	shift
	echo "scenario: $name" >&2
	"$@"
	rc=$?
	echo "$name $rc" >> $R/steps.txt
	[ "$rc" -eq 0 ] || failed=$((failed + 1))
}

# exec of a binary and of a shell script, both on ext4
exec_binary() {
	cp $A $W/km-hello && chmod 755 $W/km-hello && $W/km-hello hello osprey matrix
}
exec_script() {
	printf '#!/bin/sh\necho "script ran: $*"\n' > $W/hello.sh && chmod 755 $W/hello.sh &&
		$W/hello.sh one two
}

# open, write (first bytes: magic_write), read and unlink on ext4; a file kept whole
files() {
	cd $W || return 1
	printf 'ELF!' > f1 && printf x >> f1 && cat ./f1 > /dev/null &&
		sha256sum $W/f1 >> $R/deleted.sha256 && stat -c '%n|%i|%d|%s|%f' $W/f1 >> $R/deleted.stat &&
		rm f1 &&
		seq 1 20000 > kept.txt && echo end >> kept.txt
}

# a binary copied into a memfd and executed from there
memfd() {
	$A memfd-exec $KM/km-true
}

# a region mapped write+execute, then made execute-only
mprotect_wx() {
	$A wx $R/wx-region.bin
}

# listen/connect/accept on 127.0.0.1:4242 and [::1]:4243
sockets() {
	$A tcp 4242
}

# an accept (of a connection queued on 127.0.0.1:4250), a UDP connect (to 127.0.0.1:4251) and
# two writes to a file on ext4 through io_uring: no syscall exit shows them
uring() {
	$A uring 4250 $W/uring.bin
}

# one A query to a resolver on 127.0.0.1:53
dns() {
	$A dns-server 127.0.0.1 53 && $A dns-query osprey-test.example 127.0.0.1 53
}

# one GET to busybox httpd on 127.0.0.1:8080; the body is written to ext4. httpd runs in the
# foreground (-f) so that its PID is known: it is stopped with kill(1) once it waits in accept
# again, so the same events happen in the same order on every kernel (killall or pidof would
# scan /proc, racing with exiting processes)
http() {
	httpd -f -p 127.0.0.1:8080 -h $KM/www &
	pid=$!
	wait_listening 0100007F:1F90 || return 1
	# no timeout(1) around it: busybox's polls with kill(PID, 0) once a second, an event that
	# appears only when wget is slow (init.sh's watchdog stops a hang)
	wget -q -O $W/download.txt http://127.0.0.1:8080/osprey-test.txt
	rc=$?
	wait_in_accept $pid
	kill $pid
	wait $pid
	return $rc
}

# Until /proc/net/tcp has a listener at ADDR:PORT (hex, as the kernel writes it). Shell builtins
# only: however many rounds it takes, the events are the same.
wait_listening() {
	n=0
	while [ $n -lt 20000 ]; do
		while read -r _ local _ state _; do
			[ "$local" = "$1" ] && [ "$state" = 0A ] && return 0
		done < /proc/net/tcp
		n=$((n + 1))
	done
	return 1
}

# Until process PID is blocked in accept (43) or accept4 (288), per /proc/PID/syscall.
wait_in_accept() {
	n=0
	while [ $n -lt 20000 ]; do
		read -r nr _ < /proc/$1/syscall
		[ "$nr" = 43 ] || [ "$nr" = 288 ] && return 0
		n=$((n + 1))
	done
	return 1
}

ptrace_step() {
	$A ptrace
}

kill_step() {
	$A kill
}

setuid_step() {
	$A setuid 65534
}

# init_module and finit_module of a file that is not a module: both fail, both are captured
module() {
	{ printf '\177ELF'; seq 1 3000; } > $W/fake.ko && $A module $W/fake.ko
}

# files that detections watch, opened without reading or writing anything: /proc/kcore for
# reading (TRC-1021), /proc/sysrq-trigger for appending (TRC-1031)
proc_files() {
	: < /proc/kcore && : >> /proc/sysrq-trigger
}

step exec_binary exec_binary
step exec_script exec_script
step files files
step memfd memfd
step mprotect mprotect_wx
step sockets sockets
step uring uring
step dns dns
step http http
step ptrace ptrace_step
step kill kill_step
step setuid setuid_step
step module module
step proc_files proc_files
exit $failed
