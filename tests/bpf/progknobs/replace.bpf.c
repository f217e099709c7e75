// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* An extension program: loaded over verdict() of target.bpf.c, it drops everything.
 * The section names no target; OpenProgram.set_attach_target gives it before load. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("freplace")
int new_verdict(struct xdp_md *ctx)
{
    return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
