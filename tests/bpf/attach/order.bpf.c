// SPDX-License-Identifier: GPL-2.0
/* Order in a hook: each program writes its number into the run log when it runs, so
 * the log shows the order the kernel ran them in. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define LPY_NETKIT_NEXT -1
#define LPY_ETH_P_IP 0x0800

/* runs[0]: how many runs so far; runs[1 + i]: the number of the program of run i. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u64);
} runs SEC(".maps");

static __always_inline void ran(__u64 who)
{
    __u32 key = 0;
    __u64 *count = bpf_map_lookup_elem(&runs, &key);
    __u64 *slot;

    if (!count)
        return;
    key = __sync_fetch_and_add(count, 1) + 1;
    slot = bpf_map_lookup_elem(&runs, &key);
    if (slot)
        *slot = who;
}

/* Three programs at one cgroup hook; each lets the socket be made. */
SEC("cgroup/sock_create")
int sock_1(struct bpf_sock *sk) { ran(1); return 1; }

SEC("cgroup/sock_create")
int sock_2(struct bpf_sock *sk) { ran(2); return 1; }

SEC("cgroup/sock_create")
int sock_3(struct bpf_sock *sk) { ran(3); return 1; }

/* Two programs at one netkit hook (loaded on request: Linux 6.7+). They log IPv4 only,
 * the test's own traffic, and hand every packet on. */
static __always_inline int netkit_ran(struct __sk_buff *skb, __u64 who)
{
    if (skb->protocol == bpf_htons(LPY_ETH_P_IP))
        ran(who);
    return LPY_NETKIT_NEXT;
}

SEC("?netkit/primary")
int netkit_1(struct __sk_buff *skb) { return netkit_ran(skb, 1); }

SEC("?netkit/primary")
int netkit_2(struct __sk_buff *skb) { return netkit_ran(skb, 2); }

char LICENSE[] SEC("license") = "GPL";
