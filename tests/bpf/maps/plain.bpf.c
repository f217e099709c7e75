// SPDX-License-Identifier: GPL-2.0
/* Maps whose keys and values the C fast path of maps encodes and decodes itself (plain
 * members: integers of every width and sign, an enum, a double, char arrays, arrays, a
 * nested struct), next to ones it leaves to Python (a bitfield), for tests/maps/test_fastpath.py
 * to compare the two paths on. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

enum level { LOW = 1, HIGH = 7, NEG = -2 };

struct flow5 {
    __u64 packets;
    __u64 bytes;
    __u32 ifindex;
    __u16 port;
    __u8 proto;
};

struct pair {
    __s16 lo;
    __s64 hi;
};

struct wide {
    __s8 s8;
    __u8 u8;
    __s16 s16;
    __u16 u16;
    __s32 s32;
    __u32 u32;
    __s64 s64;
    enum level level;
    double ratio;
    char name[7];
    __u8 mac[6];
    struct pair pair;
    __u16 ports[3];
    struct pair pairs[2];
    enum level levels[2];
};

struct key2 {
    __u32 addr;
    __u16 port;
    __u8 proto;
};

struct bits {
    __u32 a;
    __u8 b : 3;
};

#define MAP(T, NAME, K, V, N) \
    struct { __uint(type, T); __uint(max_entries, N); __type(key, K); __type(value, V); } NAME SEC(".maps")

MAP(BPF_MAP_TYPE_HASH, flows5, __u32, struct flow5, 64);
MAP(BPF_MAP_TYPE_HASH, wides, struct key2, struct wide, 64);
MAP(BPF_MAP_TYPE_ARRAY, counters, __u32, __s64, 8);
MAP(BPF_MAP_TYPE_LRU_HASH, lru, __u64, __u16, 16);
MAP(BPF_MAP_TYPE_PERCPU_ARRAY, pc_counts, __u32, __u64, 4);
MAP(BPF_MAP_TYPE_PERCPU_HASH, pc_flows, struct key2, struct flow5, 16);
MAP(BPF_MAP_TYPE_LRU_PERCPU_HASH, pc_lru, __u32, __s32, 16);
MAP(BPF_MAP_TYPE_HASH, with_bits, __u32, struct bits, 8);
MAP(BPF_MAP_TYPE_PERCPU_ARRAY, pc_vec, __u32, __u32[3], 4);
MAP(BPF_MAP_TYPE_HASH, vecs, __u32, __s64[2], 16);

char LICENSE[] SEC("license") = "GPL";
