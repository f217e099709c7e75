// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The object docs/inspect.md reads: a tracepoint program with a global, a map and a
 * CO-RE relocation (task_struct->real_parent). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

const volatile __u32 target_pid = 42;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u32);
} parents SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int handle(void *ctx)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    __u32 pid = bpf_get_current_pid_tgid() >> 32;
    __u32 ppid = BPF_CORE_READ(task, real_parent, tgid);

    if (pid == target_pid)
        bpf_map_update_elem(&parents, &pid, &ppid, BPF_ANY);
    return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
