// Every hash-like map type, with flags, numa node and pinning.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct flow { u32 saddr, daddr; u16 sport, dport; u8 proto; };
struct stats { u64 packets; u64 bytes; };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct flow);
	__type(value, struct stats);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, u32);
	__type(value, struct stats);
	__uint(max_entries, 128);
	__uint(numa_node, 0);
} per_cpu_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, u64);
	__type(value, u64);
	__uint(max_entries, 1000);
} lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__type(key, u32);
	__type(value, u32);
	__uint(max_entries, 100);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
} lru_percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__type(value, u32);
	__uint(max_entries, 1000);
	__uint(map_extra, 3);
} seen SEC(".maps");

SEC("socket")
int count_flows(struct __sk_buff *skb)
{
	struct flow f = { .proto = skb->protocol };
	struct stats *s = bpf_map_lookup_elem(&flows, &f), zero = {};
	u64 k = skb->len;
	u32 h = skb->hash;

	if (!s) {
		bpf_map_update_elem(&flows, &f, &zero, BPF_ANY);
		return 0;
	}
	s->packets++;
	s->bytes += skb->len;
	bpf_map_update_elem(&lru, &k, &k, BPF_ANY);
	bpf_map_push_elem(&seen, &h, 0);
	if (bpf_map_lookup_elem(&per_cpu_flows, &h) || bpf_map_lookup_elem(&lru_percpu, &h))
		return 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
