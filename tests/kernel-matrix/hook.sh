#!/bin/sh
# The hooks group's actions (check.py's check_hooks), run by init.sh under
# `osprey trace -e hooked_syscall,hooked_proc_fops --signatures TRC-1020,TRC-1030`: load the
# test module (km_hook.c: it points sys_call_table[tuxcall] and /proc's iterate_shared at its
# own code), list /proc through the hook, let the tracer's integrity checks (at its start, then
# every 5 s) run at least twice, unload the module (which puts both pointers back) and let them
# run twice more. Each step's output and exit status go to /results/hook-*.

KM=/opt/km
R=/results

insmod $KM/km_hook.ko 2> $R/hook-insmod.txt
echo $? > $R/hook-insmod.rc
grep '^km_hook ' /proc/modules > $R/hook-modules.txt
grep '\[km_hook\]' /proc/kallsyms > $R/hook-kallsyms.txt
ls /proc > $R/hook-proc-listing.txt
sleep 11
rmmod km_hook 2> $R/hook-rmmod.txt
echo $? > $R/hook-rmmod.rc
sleep 11
dmesg | grep 'km_hook' > $R/hook-dmesg.txt
exit 0
