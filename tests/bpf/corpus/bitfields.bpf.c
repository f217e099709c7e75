// Bitfields in local types and CO-RE bitfield reads of kernel ones.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct flags {
	unsigned int ready: 1;
	unsigned int mode: 3;
	int delta: 5;
	unsigned long long wide: 40;
	unsigned char tail;
	union {
		u16 raw;
		struct { u8 lo: 4, hi: 4; };
	};
};

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

struct flags state = { .ready = 1, .mode = 5, .delta = -7, .wide = 0x123456789aULL,
		       .tail = 9, .raw = 0x00f3 };
const volatile struct flags defaults = { .mode = 2, .delta = 3 };

SEC("tc")
int read_bits(struct __sk_buff *skb)
{
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);
	u8 pkt_type = BPF_CORE_READ_BITFIELD(kskb, pkt_type);
	u64 proto = BPF_CORE_READ_BITFIELD_PROBED(kskb, ip_summed);

	state.mode = pkt_type;
	state.delta = -state.delta;
	return state.ready + defaults.mode + proto + state.lo;
}

char LICENSE[] SEC("license") = "GPL";
