// kconfig externs, typed and typeless ksyms, and kfunc calls.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern int LINUX_HAS_SYSCALL_WRAPPER __kconfig __weak;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern int CONFIG_HZ __kconfig __weak;
extern char CONFIG_LOCALVERSION[16] __kconfig __weak;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig __weak;
extern u64 CONFIG_NR_CPUS __kconfig __weak;

extern const struct rq runqueues __ksym;
extern const void bpf_prog_active __ksym;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym __weak;

SEC("tp_btf/task_newtask")
int BPF_PROG(new_task, struct task_struct *task, u64 clone_flags)
{
	struct task_struct *held = bpf_task_acquire(task);
	struct rq *rq = bpf_this_cpu_ptr(&runqueues);
	int *active = bpf_this_cpu_ptr(&bpf_prog_active);
	long r = LINUX_KERNEL_VERSION + CONFIG_HZ + CONFIG_BPF_SYSCALL + CONFIG_LOCALVERSION[0];

	r += CONFIG_BPF_JIT == TRI_YES ? CONFIG_NR_CPUS : LINUX_HAS_SYSCALL_WRAPPER;
	if (held)
		bpf_task_release(held);
	if (bpf_task_from_pid) {
		held = bpf_task_from_pid(1);
		if (held)
			bpf_task_release(held);
	}
	return r + rq->nr_running + *active;
}

char LICENSE[] SEC("license") = "GPL";
