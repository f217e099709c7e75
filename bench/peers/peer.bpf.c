// SPDX-License-Identifier: GPL-2.0
/* What bench/peers/run.py shares with the peers: a u32 -> u64 hash and a perf event
 * array, both pinned by name, so that an object a peer loads reuses the maps the
 * bench pinned under /sys/fs/bpf; and an XDP program that sends one 8-byte event per
 * run, which the bench drives with BPF_PROG_TEST_RUN. The map names come from -D
 * defines (PEER_HASH, PEER_EVENTS), unique per run. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1000);
    __type(key, __u32);
    __type(value, __u64);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} PEER_HASH SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} PEER_EVENTS SEC(".maps");

__u64 sent = 0;

SEC("xdp")
int send_event(struct xdp_md *ctx)
{
    __u64 seq = __sync_fetch_and_add(&sent, 1);

    bpf_perf_event_output(ctx, &PEER_EVENTS, BPF_F_CURRENT_CPU, &seq, sizeof(seq));
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
