// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The reliability suite's object: an XDP counter that also reports every IPv4/UDP
 * packet into a ring buffer, a tc program for tcx links, a tracepoint, and a hash map
 * user space hammers from several threads. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct event {
    __u64 seq;
    __u32 len;
    __u32 ifindex;
};

struct event *event_type __attribute__((unused));

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} counts SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, __u64);
} table SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 14);
} events SEC(".maps");

__u64 seq = 0;
int my_pid = 0;

static __always_inline void bump(__u32 key)
{
    __u64 *value = bpf_map_lookup_elem(&counts, &key);

    if (value)
        __sync_fetch_and_add(value, 1);
}

SEC("xdp")
int soak_xdp(struct xdp_md *ctx)
{
    struct event *e;

    bump(0);
    e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e)
        return XDP_PASS;
    e->seq = __sync_fetch_and_add(&seq, 1);
    e->len = ctx->data_end - ctx->data;
    e->ifindex = ctx->ingress_ifindex;
    bpf_ringbuf_submit(e, 0);
    return XDP_PASS;
}

SEC("tc")
int soak_tc(struct __sk_buff *skb)
{
    bump(1);
    return TCX_NEXT;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int soak_tp(void *ctx)
{
    if ((bpf_get_current_pid_tgid() >> 32) == my_pid)
        bump(2);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
