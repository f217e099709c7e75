// XDP: parse Ethernet/IPv4/UDP, count per protocol, redirect through dev/cpu/xsk maps.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, u32);
	__type(value, u64);
	__uint(max_entries, 256);
} proto_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
	__uint(max_entries, 8);
} tx_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__type(key, u32);
	__type(value, struct bpf_devmap_val);
	__uint(max_entries, 8);
} tx_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__type(key, u32);
	__type(value, struct bpf_cpumap_val);
	__uint(max_entries, 4);
} cpus SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__type(key, u32);
	__type(value, u32);
	__uint(max_entries, 4);
} xsks SEC(".maps");

const volatile u16 blocked_port = 9;

SEC("xdp")
int xdp_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct udphdr *udp;
	u32 proto;
	u64 *count;

	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end)
		return XDP_DROP;
	proto = ip->protocol;
	count = bpf_map_lookup_elem(&proto_count, &proto);
	if (count)
		*count += 1;
	if (ip->protocol != 17)
		return XDP_PASS;
	udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > end)
		return XDP_DROP;
	if (udp->dest == bpf_htons(blocked_port))
		return XDP_DROP;
	if (udp->dest == bpf_htons(4242))
		return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
	return XDP_PASS;
}

SEC("xdp/devmap")
int xdp_devmap_prog(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tx_ports, 0, 0);
}

SEC("xdp/cpumap")
int xdp_cpumap_prog(struct xdp_md *ctx)
{
	return bpf_redirect_map(&cpus, 1, 0);
}

SEC("xdp.frags")
int xdp_frags_prog(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tx_hash, 2, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
