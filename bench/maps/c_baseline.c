// SPDX-License-Identifier: BSD-2-Clause
/* The C side of bench/maps: the same operations on the same (pinned) maps as the
 * Python benchmark, through the same vendored libbpf. Prints one number, the median
 * over ROUNDS: ns per op (lookup, update) or ms per dump (dump).
 *
 *   c_baseline lookup PIN KEYS ROUNDS   bpf_map_lookup_elem over u32 keys 0..KEYS-1
 *   c_baseline update PIN KEYS ROUNDS   bpf_map_update_elem over keys 0..KEYS-1
 *   c_baseline dump PIN CAP CHUNK ROUNDS  BPF_MAP_LOOKUP_BATCH of the whole map
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int info(int fd, struct bpf_map_info *out)
{
    __u32 len = sizeof(*out);

    memset(out, 0, sizeof(*out));
    return bpf_map_get_info_by_fd(fd, out, &len);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The median of n times (sorts them). */
static double median(double *t, unsigned n)
{
    qsort(t, n, sizeof(*t), cmp_double);
    return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static int percpu(__u32 type)
{
    return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
           type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

/* Keys 0..keys-1 as u32 (the first four bytes of a key of key_size); values sized from
 * the map's info, one 8-byte-aligned slot per possible CPU for per-CPU maps, as user
 * space must pass them. One warm-up round, then the median of rounds. */
static int single(int fd, int update, unsigned keys, unsigned rounds)
{
    struct bpf_map_info mi;
    size_t slot, vsize;
    unsigned slots = 1;
    double *times;
    char *key, *value;

    if (info(fd, &mi) || mi.key_size < 4 || rounds < 1)
        return 1;
    slot = mi.value_size;
    if (percpu(mi.type)) {
        int n = libbpf_num_possible_cpus();

        if (n < 1)
            return 1;
        slots = n;
        slot = (slot + 7) & ~(size_t)7;
    }
    vsize = slot * slots;
    key = calloc(1, mi.key_size);
    value = calloc(1, vsize);
    times = calloc(rounds, sizeof(*times));
    if (!key || !value || !times)
        return 1;
    for (unsigned r = 0; r <= rounds; r++) {
        double t0 = now_ns();

        for (unsigned i = 0; i < keys; i++) {
            __u32 k = i;

            memcpy(key, &k, sizeof(k));
            if (update) {
                uint64_t v = i * 3u;

                for (unsigned c = 0; c < slots; c++)
                    memcpy(value + c * slot, &v, slot < 8 ? slot : 8);
                if (bpf_map_update_elem(fd, key, value, BPF_ANY))
                    return 2;
            } else if (bpf_map_lookup_elem(fd, key, value)) {
                return 2;
            }
        }
        if (r > 0) /* round 0 warms up */
            times[r - 1] = (now_ns() - t0) / keys;
    }
    printf("%.1f\n", median(times, rounds));
    return 0;
}

static int dump(int fd, unsigned cap, unsigned chunk, unsigned rounds)
{
    struct bpf_map_info mi;
    double *times = calloc(rounds ? rounds : 1, sizeof(double));
    uint64_t tok_a[32], tok_b[32];
    long total = 0;
    char *keys, *values;

    if (info(fd, &mi))
        return 1;
    keys = malloc((size_t)cap * mi.key_size);
    values = malloc((size_t)cap * mi.value_size);
    if (!keys || !values || !times || rounds < 1)
        return 1;
    for (unsigned r = 0; r < rounds; r++) {
        void *in = NULL, *out = tok_a;
        double t0 = now_ns(), dt;
        LIBBPF_OPTS(bpf_map_batch_opts, opts);

        total = 0;
        for (;;) {
            __u32 count = cap - total < chunk ? cap - total : chunk;
            int ret = bpf_map_lookup_batch(fd, in, out, keys + total * mi.key_size,
                                           values + total * mi.value_size, &count, &opts);

            total += count;
            if (ret < 0 && errno == ENOENT)
                break;
            if (ret < 0)
                return 2;
            in = out;
            out = out == tok_a ? (void *)tok_b : (void *)tok_a;
        }
        dt = (now_ns() - t0) / 1e6;
        times[r] = dt;
    }
    fprintf(stderr, "dumped %ld entries\n", total);
    printf("%.2f\n", median(times, rounds));
    return 0;
}

int main(int argc, char **argv)
{
    int fd;

    if (argc < 5) {
        fprintf(stderr, "usage: %s lookup|update|dump PIN ...\n", argv[0]);
        return 64;
    }
    fd = bpf_obj_get(argv[2]);
    if (fd < 0) {
        perror("bpf_obj_get");
        return 1;
    }
    if (!strcmp(argv[1], "lookup") || !strcmp(argv[1], "update"))
        return single(fd, argv[1][0] == 'u', atoi(argv[3]), atoi(argv[4]));
    if (!strcmp(argv[1], "dump") && argc >= 6)
        return dump(fd, atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    return 64;
}
