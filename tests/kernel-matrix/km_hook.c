// SPDX-License-Identifier: GPL-2.0
/*
 * km_hook: the kernel matrix's stand-in for a rootkit. Loaded only in a throwaway qemu guest
 * (tests/kernel-matrix/hook.sh), never on a host.
 *
 * On load it points two kernel function pointers at its own code, as rootkits such as
 * Diamorphine do:
 *   - sys_call_table[__NR_tuxcall] (184, an unimplemented syscall: sys_ni_syscall) at
 *     km_hook_syscall, which returns -ENOSYS as the real entry does;
 *   - /proc's root directory operations, iterate_shared, at km_hook_iterate, which calls the
 *     original (so /proc still lists as before).
 * On unload it puts both back. Osprey's integrity checks must report each as owned by
 * km_hook (hooked_syscall, hooked_proc_fops; findings TRC-1030 and TRC-1020).
 *
 * Both pointers are in read-only memory: they are written with CR0.WP cleared (and CR4.CET,
 * which forbids clearing WP, cleared around it where set), interrupts off, by raw moves to the
 * control registers (the kernel's write_cr0 puts WP back at once). kallsyms_lookup_name is not
 * exported since 5.7: its address comes from a kprobe on it.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/fs.h>
#include <linux/err.h>
#include <linux/irqflags.h>
#include <linux/preempt.h>
#include <linux/ptrace.h>
#include <asm/unistd.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("osprey kernel matrix: hooks a syscall table entry and /proc's iterate_shared (test only)");

#define KM_NR __NR_tuxcall
#define KM_CR0_WP (1UL << 16)
#define KM_CR4_CET (1UL << 23)

typedef unsigned long (*lookup_fn)(const char *name);
typedef int (*iterate_fn)(struct file *, struct dir_context *);

static unsigned long *table;
static unsigned long saved_entry;
static struct file_operations *proc_ops_root;
static iterate_fn saved_iterate;

static long km_hook_syscall(const struct pt_regs *regs)
{
	return -ENOSYS;
}

static int km_hook_iterate(struct file *file, struct dir_context *ctx)
{
	return saved_iterate(file, ctx);
}

static inline unsigned long km_read_cr0(void)
{
	unsigned long v;

	asm volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline void km_write_cr0(unsigned long v)
{
	asm volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static inline unsigned long km_read_cr4(void)
{
	unsigned long v;

	asm volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline void km_write_cr4(unsigned long v)
{
	asm volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

/* *slot = value, on a read-only page */
static void km_poke(unsigned long *slot, unsigned long value)
{
	unsigned long flags, cr0, cr4;

	preempt_disable();
	local_irq_save(flags);
	cr4 = km_read_cr4();
	if (cr4 & KM_CR4_CET)
		km_write_cr4(cr4 & ~KM_CR4_CET);
	cr0 = km_read_cr0();
	km_write_cr0(cr0 & ~KM_CR0_WP);
	WRITE_ONCE(*slot, value);
	km_write_cr0(cr0);
	if (cr4 & KM_CR4_CET)
		km_write_cr4(cr4);
	local_irq_restore(flags);
	preempt_enable();
}

static lookup_fn find_lookup(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	unsigned char *addr;

	if (register_kprobe(&kp) < 0)
		return NULL;
	addr = (unsigned char *)kp.addr;
	unregister_kprobe(&kp);
	/* with IBT the probe sits after the function's ENDBR64: call the function's start */
	if (addr && addr[-4] == 0xf3 && addr[-3] == 0x0f && addr[-2] == 0x1e && addr[-1] == 0xfa)
		addr -= 4;
	return (lookup_fn)addr;
}

static int __init km_hook_init(void)
{
	lookup_fn lookup = find_lookup();
	struct file *proc;

	if (!lookup) {
		pr_err("km_hook: no kallsyms_lookup_name\n");
		return -ENOENT;
	}
	table = (unsigned long *)lookup("sys_call_table");
	if (!table) {
		pr_err("km_hook: no sys_call_table in kallsyms\n");
		return -ENOENT;
	}
	proc = filp_open("/proc", O_RDONLY | O_DIRECTORY, 0);
	if (IS_ERR(proc)) {
		pr_err("km_hook: opening /proc: %ld\n", PTR_ERR(proc));
		return PTR_ERR(proc);
	}
	proc_ops_root = (struct file_operations *)proc->f_op;
	filp_close(proc, NULL);
	saved_iterate = proc_ops_root->iterate_shared;
	if (!saved_iterate) {
		pr_err("km_hook: /proc has no iterate_shared\n");
		return -ENOENT;
	}

	saved_entry = table[KM_NR];
	km_poke(&table[KM_NR], (unsigned long)km_hook_syscall);
	km_poke((unsigned long *)&proc_ops_root->iterate_shared, (unsigned long)km_hook_iterate);
	pr_info("km_hook: sys_call_table[%d] %lx -> %lx, /proc iterate_shared %px -> %px\n", KM_NR,
		saved_entry, table[KM_NR], saved_iterate, proc_ops_root->iterate_shared);
	return 0;
}

static void __exit km_hook_exit(void)
{
	km_poke(&table[KM_NR], saved_entry);
	km_poke((unsigned long *)&proc_ops_root->iterate_shared, (unsigned long)saved_iterate);
	pr_info("km_hook: restored: sys_call_table[%d] %lx, /proc iterate_shared %px\n", KM_NR,
		table[KM_NR], proc_ops_root->iterate_shared);
}

module_init(km_hook_init);
module_exit(km_hook_exit);
