// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The other half of a linked object: an XDP program calling classify() and reading the
 * counter that classify.bpf.c defines. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern int classify(struct xdp_md *ctx);
extern __u64 classified;

__u64 filtered;
__u64 seen_by_filter;

SEC("xdp")
int linked_filter(struct xdp_md *ctx)
{
    __sync_fetch_and_add(&filtered, 1);
    seen_by_filter = classified;
    return classify(ctx);
}
