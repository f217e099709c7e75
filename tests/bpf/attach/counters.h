/* The counter map every attach test program bumps: one slot per program. */
#ifndef LPY_ATTACH_COUNTERS_H
#define LPY_ATTACH_COUNTERS_H

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 32);
    __type(key, __u32);
    __type(value, __u64);
} hits SEC(".maps");

/* cfg[0]: the pid whose events count (0: every process). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} cfg SEC(".maps");

static __always_inline void bump(__u32 slot)
{
    __u64 *value = bpf_map_lookup_elem(&hits, &slot);

    if (value)
        __sync_fetch_and_add(value, 1);
}

static __always_inline int wanted_pid(void)
{
    __u32 key = 0;
    __u64 *pid = bpf_map_lookup_elem(&cfg, &key);

    return !pid || !*pid || (bpf_get_current_pid_tgid() >> 32) == *pid;
}

#endif
