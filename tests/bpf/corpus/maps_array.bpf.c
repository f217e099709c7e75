// Array-like maps: array, percpu array, prog array (with initial slots), perf event
// array, cgroup array, stack trace, queue and stack.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, u32);
	__type(value, u64);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_MMAPABLE);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(u32));
	__uint(value_size, 127 * sizeof(u64));
	__uint(max_entries, 1024);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
	__uint(max_entries, 2);
} cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__type(value, u64);
	__uint(max_entries, 32);
} fifo SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__type(value, u64);
	__uint(max_entries, 32);
} lifo SEC(".maps");

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	u32 key = 0;
	u64 *c = bpf_map_lookup_elem(&counters, &key), id;

	if (c)
		__sync_fetch_and_add(c, 1);
	id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	bpf_map_push_elem(&fifo, &id, BPF_EXIST);
	bpf_map_pop_elem(&lifo, &id);
	return bpf_current_task_under_cgroup(&cgroups, 0);
}

int tail_a(struct __sk_buff *skb);

SEC("socket")
int tail_b(struct __sk_buff *skb)
{
	return 2;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__array(values, int (void *));
} jumps SEC(".maps") = {
	.values = {
		[1] = (void *)&tail_b,
		[3] = (void *)&tail_a,
	},
};

SEC("socket")
int tail_a(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jumps, 1);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
