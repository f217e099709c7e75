// SPDX-License-Identifier: GPL-2.0
/* Attach kinds newer than Debian 12's 6.1: tcx and uprobe_multi (6.6), netfilter (6.4),
 * sockmap links (6.10). Each loads on request ("?"): 6.1 does not even load a netfilter
 * program. "plain" loads everywhere, so a test can call every attach method on a kernel
 * that lacks the kind and see the probed NotSupported. Nothing here changes traffic. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_SOCKMAP);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} newer_socks SEC(".maps");

SEC("socket")
int plain(struct __sk_buff *skb)
{
    return 0;
}

SEC("?tcx/ingress")
int newer_tcx(struct __sk_buff *skb)
{
    return 0; /* TCX_PASS */
}

SEC("?netfilter")
int newer_nf(struct bpf_nf_ctx *ctx)
{
    return 1; /* NF_ACCEPT */
}

SEC("?uprobe.multi")
int newer_umulti(void *ctx)
{
    return 0;
}

SEC("?sk_msg")
int newer_msg(struct sk_msg_md *msg)
{
    return 1; /* SK_PASS */
}

char LICENSE[] SEC("license") = "GPL";
