// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Writes to the program's BPF stdout stream (Linux 6.17+ BPF streams). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern int bpf_stream_vprintk_impl(int stream_id, const char *fmt__str, const void *args,
                                   __u32 len__sz, void *aux__prog) __ksym __weak;

SEC("syscall")
int speak(void *ctx)
{
    static const char fmt[] = "lpy-stream %d\n";
    unsigned long long args[1] = {42};

    if (!bpf_ksym_exists(bpf_stream_vprintk_impl))
        return -1;
    return bpf_stream_vprintk_impl(1, fmt, args, sizeof(args), NULL);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
