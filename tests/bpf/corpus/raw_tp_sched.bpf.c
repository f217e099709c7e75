// Raw tracepoints with CO-RE reads of the arguments and a perf event array.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

struct switch_event {
	u32 prev_pid;
	u32 next_pid;
	char comm[16];
	long prev_state;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

SEC("raw_tp/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct switch_event e = {};

	e.prev_pid = BPF_CORE_READ(prev, pid);
	e.next_pid = BPF_CORE_READ(next, pid);
	e.prev_state = BPF_CORE_READ(prev, __state);
	BPF_CORE_READ_STR_INTO(&e.comm, next, comm);
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

SEC("raw_tracepoint/sched_process_fork")
int on_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	return BPF_CORE_READ(child, group_leader, pid) & 1;
}

SEC("raw_tp.w/sched_wakeup")
int writable(void *ctx)
{
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(btf_wakeup, struct task_struct *p)
{
	return p->prio > 100;
}

char LICENSE[] SEC("license") = "GPL";
