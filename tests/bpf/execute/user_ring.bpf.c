// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The BPF side of a user ring buffer: a syscall program drains what Python wrote. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct command {
    __u32 op;
    __u32 value;
};

struct command *command_type __attribute__((unused));

struct {
    __uint(type, BPF_MAP_TYPE_USER_RINGBUF);
    __uint(max_entries, 4096);
} commands SEC(".maps");

__u64 total;
__u64 records;
__u64 bad_size;

static long take(struct bpf_dynptr *dynptr, void *ctx)
{
    struct command cmd;

    if (bpf_dynptr_read(&cmd, sizeof(cmd), dynptr, 0, 0)) {
        bad_size++;
        return 0;
    }
    records++;
    total += cmd.op == 1 ? cmd.value : 0;
    return 0;
}

SEC("syscall")
int drain(void *ctx)
{
    return bpf_user_ringbuf_drain(&commands, take, NULL, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
