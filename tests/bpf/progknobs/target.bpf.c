// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The program an extension replaces a function of: its verdict comes from verdict(), a
 * global function, which the verifier checks on its own and freplace can swap. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

__noinline int verdict(struct xdp_md *ctx)
{
    /* Depends on the context, so the compiler cannot fold the call into a constant. */
    if (ctx->data_end < ctx->data)
        return XDP_ABORTED;
    return XDP_PASS;
}

SEC("xdp")
int xdp_entry(struct xdp_md *ctx)
{
    return verdict(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
