// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Programs whose verifier logs are huge: the verifier walks every iteration of a
 * bounded loop, logging each instruction (and at log level 2 the register state too).
 * ITERATIONS sets the size; the test turns on one program at a time. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#ifndef ITERATIONS
#define ITERATIONS 30000
#endif

static __always_inline __u64 churn(struct xdp_md *ctx)
{
    __u64 acc = ctx->ingress_ifindex;
    int i;

#pragma clang loop unroll(disable)
    for (i = 0; i < ITERATIONS; i++) {
        acc ^= (acc << 3) + i;
        acc += i & 7;
    }
    return acc;
}

/* Accepted: the verdict is the same with and without a log. */
SEC("?xdp")
int long_ok(struct xdp_md *ctx)
{
    return churn(ctx) & 1 ? XDP_PASS : XDP_DROP;
}

/* Rejected at the very end of the walk: reads the packet without a bounds check. */
SEC("?xdp")
int long_bad(struct xdp_md *ctx)
{
    unsigned char *data = (void *)(long)ctx->data;
    __u64 acc = churn(ctx);

    return data[acc & 0xff] == 1 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
