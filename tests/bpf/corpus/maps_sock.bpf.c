// Socket maps with sk_skb, sk_msg and sk_reuseport programs.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__type(key, u32);
	__type(value, u64);
	__uint(max_entries, 16);
} sock_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__type(key, u64);
	__type(value, u64);
	__uint(max_entries, 16);
} sock_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__type(key, u32);
	__type(value, u64);
	__uint(max_entries, 8);
} reuse SEC(".maps");

SEC("sk_skb/stream_parser")
int parser(struct __sk_buff *skb) { return skb->len; }

SEC("sk_skb/stream_verdict")
int verdict(struct __sk_buff *skb)
{
	return bpf_sk_redirect_map(skb, &sock_map, skb->local_port & 15, 0);
}

SEC("sk_skb/verdict")
int verdict2(struct __sk_buff *skb)
{
	u64 key = skb->remote_port;
	return bpf_sk_redirect_hash(skb, &sock_hash, &key, 0);
}

SEC("sk_msg")
int msg_verdict(struct sk_msg_md *msg)
{
	u64 key = msg->remote_port;
	return bpf_msg_redirect_hash(msg, &sock_hash, &key, BPF_F_INGRESS);
}

SEC("sk_reuseport")
int pick(struct sk_reuseport_md *md)
{
	u32 idx = md->hash & 7;
	return bpf_sk_select_reuseport(md, &reuse, &idx, 0) == 0 ? SK_PASS : SK_DROP;
}

SEC("sk_reuseport/migrate")
int migrate(struct sk_reuseport_md *md) { return SK_PASS; }

char LICENSE[] SEC("license") = "GPL";
