// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* One event per packet into a ring buffer: its length and the XDP verdict. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct packet_event {
    __u32 length;
    __u32 verdict;
};

/* A global of the type puts it in the object's BTF, so user space can decode records. */
const struct packet_event *unused_event __attribute__((unused));

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int report(struct xdp_md *ctx)
{
    struct packet_event ev = {
        .length = ctx->data_end - ctx->data,
        .verdict = XDP_PASS,
    };

    bpf_ringbuf_output(&events, &ev, sizeof(ev), 0);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
