// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Passes everything: attached to the far end of a veth pair, it makes the veth driver
 * accept frames that an XDP_TX on the near end sends. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pass(struct xdp_md *ctx)
{
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
