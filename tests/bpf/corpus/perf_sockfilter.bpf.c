// A socket filter with a stack trace map, bpf_printk strings (.rodata.str1.1) and
// bpf-to-bpf calls of a static function that itself uses a map.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, u32);
	__type(value, u32);
	__uint(max_entries, 2);
} verdicts SEC(".maps");

static __noinline int verdict_for(u32 idx)
{
	u32 *v = bpf_map_lookup_elem(&verdicts, &idx);

	bpf_printk("verdict %u -> %u", idx, v ? *v : 0);
	return v ? *v : 0;
}

SEC("socket/first")
int filter(struct __sk_buff *skb)
{
	bpf_printk("len=%u proto=%x", skb->len, skb->protocol);
	return verdict_for(skb->len & 1) ? skb->len : 0;
}

char LICENSE[] SEC("license") = "GPL";
