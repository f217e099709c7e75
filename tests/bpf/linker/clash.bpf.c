// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A second strong definition of classify(): linking it with classify.bpf.c must fail. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

__noinline int classify(struct xdp_md *ctx)
{
    return ctx ? XDP_DROP : XDP_ABORTED;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
