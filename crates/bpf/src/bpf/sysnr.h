/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Syscall numbers (x86-64) and kernel constants the programs compare against, and the
 * registers a syscall's arguments are read from. The numbers are checked against the catalog's
 * syscall table (crates/trace/src/data/syscalls_x86_64.txt) by a test in osprey-trace. */
#ifndef OSPREY_SYSNR_H
#define OSPREY_SYSNR_H

#define NR_READ 0
#define NR_WRITE 1
#define NR_OPEN 2
#define NR_PWRITE64 18
#define NR_WRITEV 20
#define NR_MMAP 9
#define NR_MPROTECT 10
#define NR_CONNECT 42
#define NR_ACCEPT 43
#define NR_BIND 49
#define NR_CREAT 85
#define NR_UNLINK 87
#define NR_PWRITEV 296
#define NR_PWRITEV2 328
#define NR_OPENAT 257
#define NR_UNLINKAT 263
#define NR_ACCEPT4 288
#define NR_MOUNT 165
#define NR_UNSHARE 272
#define NR_SETNS 308
#define NR_PRCTL 157
#define NR_PKEY_MPROTECT 329
#define NR_OPENAT2 437
#define NR_EXECVE 59
#define NR_EXECVEAT 322
#define NR_IO_URING_ENTER 426

#define S_IFMT 00170000
#define S_IFREG 0100000
#define S_IFSOCK 0140000
#define O_APPEND_ 02000
#define FMODE_PATH_ 0x4000
#define PF_IO_WORKER_ 0x10
#define MAP_ANON_ 0x20
#define PROT_W 2
#define PROT_X 4
#define VM_READ_ 1
#define VM_WRITE_ 2
#define VM_EXEC_ 4

#define NR_FTRUNCATE 77
#define NR_SENDFILE 40
#define NR_SPLICE 275
#define NR_COPY_FILE_RANGE 326
#define NR_INIT_MODULE 175
#define NR_FINIT_MODULE 313
#define O_TRUNC_ 01000
#define RWF_APPEND_ 0x10
#define RWF_NOAPPEND_ 0x20
#define S_IFCHR_ 0020000
#define S_IFBLK_ 0060000
#define SIGSTOP_ 19
#define SIGCONT_ 18
#define KDEV_NULL ((1 << 20) | 3) /* /dev/null in the kernel's dev_t encoding */

static __always_inline __u64 reg_arg(struct pt_regs *regs, int i)
{
	switch (i) {
	case 0: return BPF_CORE_READ(regs, di);
	case 1: return BPF_CORE_READ(regs, si);
	case 2: return BPF_CORE_READ(regs, dx);
	case 3: return BPF_CORE_READ(regs, r10);
	case 4: return BPF_CORE_READ(regs, r8);
	default: return BPF_CORE_READ(regs, r9);
	}
}

#endif
