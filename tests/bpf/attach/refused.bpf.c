// SPDX-License-Identifier: GPL-2.0
/* Kinds this kernel may refuse at load (fentry, fexit, LSM): tests expect a clear error. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("?fentry/bpf_fentry_test1")
int BPF_PROG(on_entry, int a)
{
    return 0;
}

SEC("?fexit/bpf_fentry_test1")
int BPF_PROG(on_exit, int a, int ret)
{
    return 0;
}

SEC("?lsm/file_open")
int BPF_PROG(on_open, struct file *file)
{
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
