// SPDX-License-Identifier: GPL-2.0
/* An XDP program the verifier must reject: it reads the packet without a bounds check. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int read_without_check(struct xdp_md *ctx)
{
    unsigned char *data = (void *)(long)ctx->data;

    return data[20] == 1 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
