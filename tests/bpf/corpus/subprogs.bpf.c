// Subprograms: static and global noinline functions, callbacks (bpf_loop, for_each),
// and a program calling another section's helpers.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, u32);
	__type(value, u64);
	__uint(max_entries, 8);
} vals SEC(".maps");

static __noinline u64 square(u64 x)
{
	return x * x;
}

__noinline int global_helper(int a, int b)
{
	return a > b ? a - b : b - a;
}

static int loop_body(u32 i, void *ctx)
{
	*(u64 *)ctx += square(i);
	return 0;
}

static long sum_elem(struct bpf_map *map, u32 *key, u64 *val, void *ctx)
{
	*(u64 *)ctx += *val;
	return 0;
}

SEC("tp/syscalls/sys_enter_nanosleep")
int use_subprogs(void *ctx)
{
	u64 total = 0;

	bpf_loop(10, loop_body, &total, 0);
	bpf_for_each_map_elem(&vals, sum_elem, &total, 0);
	return global_helper(total, square(3));
}

SEC("xdp")
int xdp_sub(struct xdp_md *ctx)
{
	return global_helper(ctx->data_end - ctx->data, 64) > 0 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
