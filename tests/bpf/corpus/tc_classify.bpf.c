// tc / tcx programs with an LPM trie of blocked prefixes.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

struct lpm_v4 {
	u32 prefixlen;
	u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lpm_v4);
	__type(value, u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 512);
} blocked SEC(".maps");

static __always_inline int check(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	struct lpm_v4 key = { .prefixlen = 32 };

	if ((void *)(ip + 1) > end)
		return TC_ACT_OK;
	key.addr = ip->saddr;
	return bpf_map_lookup_elem(&blocked, &key) ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("tc/ingress")
int tc_in(struct __sk_buff *skb) { return check(skb); }

SEC("tcx/egress")
int tcx_out(struct __sk_buff *skb)
{
	skb->mark = 0x42;
	return TC_ACT_OK;
}

SEC("tc")
int tc_legacy(struct __sk_buff *skb)
{
	return skb->protocol == bpf_htons(0x86dd) ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("classifier")
int cls_old(struct __sk_buff *skb) { return check(skb); }

SEC("action")
int act_old(struct __sk_buff *skb) { return TC_ACT_OK; }

SEC("netkit/primary")
int nk_primary(struct __sk_buff *skb) { return 0; }

char LICENSE[] SEC("license") = "GPL";
