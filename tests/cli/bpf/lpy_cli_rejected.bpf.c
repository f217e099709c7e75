// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* An XDP program the verifier rejects after a log of a few hundred lines: it walks a
 * loop, then reads the packet without a bounds check. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int lpy_cli_rejected(struct xdp_md *ctx)
{
    unsigned char *data = (void *)(long)ctx->data;
    unsigned int acc = ctx->ingress_ifindex;

#pragma clang loop unroll(disable)
    for (int i = 0; i < 40; i++)
        acc = acc * 31 + (acc >> 3);
    return data[4000] + acc;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
