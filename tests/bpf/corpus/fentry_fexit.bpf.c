// fentry/fexit/fmod_ret on kernel functions with a ring buffer of events.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

struct unlink_event {
	int pid;
	int ret;
	char name[32];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

SEC("fentry/do_unlinkat")
int BPF_PROG(unlink_entry, int dfd, struct filename *name)
{
	struct unlink_event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);

	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ret = 0;
	bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(name, name));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("fexit/do_unlinkat")
int BPF_PROG(unlink_exit, int dfd, struct filename *name, long ret)
{
	struct unlink_event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);

	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ret = ret;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

SEC("fmod_ret/security_task_alloc")
int BPF_PROG(deny_alloc, struct task_struct *task, unsigned long clone_flags, int ret)
{
	return ret;
}

SEC("fentry/tcp_connect")
int BPF_PROG(tcp_conn, struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_dport) == 0;
}

char LICENSE[] SEC("license") = "GPL";
