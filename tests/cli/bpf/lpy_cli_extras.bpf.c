// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* What the CLI's output conventions are tested on: a global of an anonymous struct type
 * (C spanning several lines, in one table cell) and a program long enough that its
 * disassembly overfills a pipe. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct { __u32 limit; __u64 seen; } lpy_cli_anon = { 3, 4 };

SEC("xdp")
int lpy_cli_long(struct xdp_md *ctx)
{
    __u32 acc = ctx->ingress_ifindex;

#pragma unroll
    for (int i = 0; i < 5000; i++)
        acc = acc * 31 + (acc >> 3) + i;
    return (acc + lpy_cli_anon.limit) & 1 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
