// Ring buffers both ways and an arena.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096 * 64);
} to_user SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 4096 * 16);
} from_user SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARENA);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 10);
	__ulong(map_extra, 0x100000000ULL << 8);
} arena SEC(".maps");

static long handle_msg(struct bpf_dynptr *dynptr, void *ctx)
{
	u64 v = 0;

	bpf_dynptr_read(&v, sizeof(v), dynptr, 0, 0);
	*(u64 *)ctx += v;
	return 0;
}

SEC("fentry/__x64_sys_getpid")
int drain(void *ctx)
{
	u64 total = 0;
	u64 *out;

	bpf_user_ringbuf_drain(&from_user, handle_msg, &total, 0);
	out = bpf_ringbuf_reserve(&to_user, sizeof(*out), 0);
	if (!out)
		return 0;
	*out = total;
	bpf_ringbuf_submit(out, 0);
	return bpf_ringbuf_query(&to_user, BPF_RB_AVAIL_DATA) > 0;
}

char LICENSE[] SEC("license") = "GPL";
