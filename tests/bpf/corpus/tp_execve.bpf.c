// CO-RE tracepoint: walks task_struct through BPF_CORE_READ, counts per parent.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, u32);
	__type(value, u64);
	__uint(max_entries, 1024);
} exec_count SEC(".maps");

const volatile pid_t target_tgid = 0;
u64 events_seen = 0;

SEC("tracepoint/syscalls/sys_enter_execve")
int count_exec(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	u32 ppid = BPF_CORE_READ(task, real_parent, tgid);
	u64 one = 1, *slot;

	if (target_tgid && BPF_CORE_READ(task, tgid) != target_tgid)
		return 0;
	slot = bpf_map_lookup_elem(&exec_count, &ppid);
	if (slot)
		__sync_fetch_and_add(slot, 1);
	else
		bpf_map_update_elem(&exec_count, &ppid, &one, BPF_NOEXIST);
	events_seen++;
	return 0;
}

SEC("tp/sched/sched_process_exit")
int on_exit(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	u32 pid = BPF_CORE_READ(task, pid);

	bpf_map_delete_elem(&exec_count, &pid);
	return BPF_CORE_READ(task, exit_code) >> 8;
}

char LICENSE[] SEC("license") = "GPL";
