// SPDX-License-Identifier: GPL-2.0
/* Typed maps and globals for tests/maps: struct keys and values with padding,
 * bitfields, enums, char arrays, nested structs and unions; one map of every kind the
 * stateful tests model; and a program that exchanges values with Python. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

enum color { RED = 0, GREEN = 5, BLUE = 6 };

struct key_t {
    __u8 proto;          /* 3 bytes of padding follow */
    __u32 addr;
    __u16 port;
    __u8 flags : 3;      /* two bitfields share one byte */
    __u8 kind : 5;
};                       /* 1 byte of tail padding: 12 bytes */

struct inner_t {
    __u8 a;
    __u32 b;
};

struct val_t {
    __u64 packets;
    __s32 delta;
    enum color color;
    char tag[6];
    __u16 arr[3];
    struct inner_t inner;
    union {
        __u32 word;
        __u8 bytes[4];
    } un;
    __s8 sbits : 4;
    __u8 ubits : 4;
};

struct small_t {
    __u32 a;
    __s16 b : 9;
    __u16 c : 7;
};

struct lpm_key {
    __u32 prefixlen;
    __u8 addr[4];
};

#define MAP(T, NAME, K, V, N) \
    struct { __uint(type, T); __uint(max_entries, N); __type(key, K); __type(value, V); } NAME SEC(".maps")

MAP(BPF_MAP_TYPE_HASH, flows, struct key_t, struct val_t, 64);
MAP(BPF_MAP_TYPE_ARRAY, arr, __u32, struct val_t, 16);
MAP(BPF_MAP_TYPE_PERCPU_HASH, pc_hash, struct key_t, struct small_t, 32);
MAP(BPF_MAP_TYPE_PERCPU_ARRAY, pc_arr, __u32, struct small_t, 8);
MAP(BPF_MAP_TYPE_LRU_HASH, lru, struct key_t, struct val_t, 16);
MAP(BPF_MAP_TYPE_LRU_PERCPU_HASH, lru_pc, struct key_t, struct small_t, 16);

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 64);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct lpm_key);
    __type(value, __u32);
} lpm SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_QUEUE);
    __uint(max_entries, 8);
    __type(value, struct val_t);
} queue SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_STACK);
    __uint(max_entries, 8);
    __type(value, struct small_t);
} stack SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
    __uint(max_entries, 64);
    __uint(map_extra, 3);
    __type(value, struct key_t);
} bloom SEC(".maps");

struct inner_map {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __uint(max_entries, 8);
    __type(key, __u32);
    __array(values, struct inner_map);
} outer_hash SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 8);
    __type(key, __u32);
    __array(values, struct inner_map);
} outer_arr SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 32);
    __uint(map_flags, BPF_F_MMAPABLE);
    __type(key, __u32);
    __type(value, __u64);
} counts SEC(".maps");

/* Globals: Python writes query_addr and data_value, the program writes the rest. */
__u32 query_addr;
__u64 bss_counter;
struct val_t last_seen;
__u32 data_value = 7;
const volatile __u32 ro_multiplier = 3;
__u64 custom_var SEC(".data.custom") = 11;

SEC("xdp")
int exchange(struct xdp_md *ctx)
{
    struct key_t k = {};
    struct val_t out;
    struct val_t *v;
    __u32 idx = 3;
    __u64 *cnt;

    k.proto = 6;
    k.addr = query_addr;
    k.port = 80;
    k.flags = 5;
    k.kind = 17;
    v = bpf_map_lookup_elem(&flows, &k);
    if (!v)
        return XDP_ABORTED;
    __builtin_memcpy(&out, v, sizeof(out));
    out.packets = v->packets * ro_multiplier + data_value;
    out.delta = -v->delta;
    out.color = BLUE;
    out.tag[0] = 'B';
    out.arr[2] = v->arr[0] + v->arr[1];
    out.inner.b = v->inner.b + 1;
    out.un.word = v->un.word ^ 0xffffffff;
    out.sbits = -v->sbits;
    out.ubits = v->ubits + 1;
    k.port = 81;
    k.kind = v->ubits;
    bpf_map_update_elem(&flows, &k, &out, BPF_ANY);
    __builtin_memcpy(&last_seen, v, sizeof(last_seen));
    bss_counter += v->packets;
    custom_var += 1;
    cnt = bpf_map_lookup_elem(&counts, &idx);
    if (cnt)
        *cnt += 100;
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
