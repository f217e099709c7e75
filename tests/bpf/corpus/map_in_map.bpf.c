// Map-in-map: array of maps and hash of maps, with inner definitions and initial slots.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct inner_array {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, u32);
	__type(value, u32);
	__uint(max_entries, 16);
};

struct inner_array first SEC(".maps"), second SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, u32);
	__array(values, struct inner_array);
} outer_array SEC(".maps") = {
	.values = { &first, [2] = &second },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, u64);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_HASH);
		__type(key, u32);
		__type(value, u64);
		__uint(max_entries, 32);
	});
} outer_hash SEC(".maps");

SEC("tp/syscalls/sys_enter_getpid")
int lookup(void *ctx)
{
	u32 idx = 2, key = 0, *v;
	u64 hkey = bpf_get_current_pid_tgid();
	void *inner = bpf_map_lookup_elem(&outer_array, &idx);

	if (!inner)
		return 0;
	v = bpf_map_lookup_elem(inner, &key);
	if (v)
		(*v)++;
	inner = bpf_map_lookup_elem(&outer_hash, &hkey);
	return inner != 0;
}

char LICENSE[] SEC("license") = "GPL";
