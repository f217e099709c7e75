// SPDX-License-Identifier: BSD-2-Clause
/* The C side of bench/maps: the same operations on the same (pinned) maps as the
 * Python benchmark, through the same vendored libbpf. Prints one number, the median
 * over ROUNDS: ns per op (lookup, update), ns per sample (perf) or ms per dump (dump).
 *
 *   c_baseline lookup PIN KEYS ROUNDS   bpf_map_lookup_elem over u32 keys 0..KEYS-1
 *   c_baseline update PIN KEYS ROUNDS   bpf_map_update_elem over keys 0..KEYS-1
 *   c_baseline dump PIN CAP CHUNK ROUNDS  BPF_MAP_LOOKUP_BATCH of the whole map
 *   c_baseline perf PIN PROG_ID EVENTS ROUNDS PAGES  perf_buffer__consume of EVENTS
 *       samples program PROG_ID sent into the pinned perf event array
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

static unsigned long perf_seen, perf_lost;

static void perf_sample(void *ctx, int cpu, void *data, __u32 size)
{
    (void)ctx, (void)cpu, (void)data, (void)size;
    perf_seen++;
}

static void perf_lost_cb(void *ctx, int cpu, __u64 count)
{
    (void)ctx, (void)cpu;
    perf_lost += count;
}

/* Per round: open perf buffers on the pinned perf event array, have the program PROG_ID
 * send EVENTS samples (BPF_PROG_TEST_RUN with repeat), then time perf_buffer__consume
 * until all arrived. Prints the median ns per sample. */
static int perf(int map_fd, unsigned prog_id, unsigned events, unsigned rounds,
                unsigned pages)
{
    int prog_fd = bpf_prog_get_fd_by_id(prog_id);
    double *times = calloc(rounds ? rounds : 1, sizeof(double));
    char packet[64] = { 0 };

    if (prog_fd < 0 || !times || rounds < 1)
        return 1;
    for (unsigned r = 0; r <= rounds; r++) {
        struct perf_buffer *pb = perf_buffer__new(map_fd, pages, perf_sample, perf_lost_cb,
                                                  NULL, NULL);
        LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = packet, .data_size_in = sizeof(packet),
                    .repeat = events);
        double t0;

        if (!pb)
            return 2;
        perf_seen = perf_lost = 0;
        if (bpf_prog_test_run_opts(prog_fd, &run))
            return 2;
        t0 = now_ns();
        while (perf_seen + perf_lost < events)
            if (perf_buffer__consume(pb) < 0)
                return 2;
        if (r > 0) /* round 0 warms up */
            times[r - 1] = (now_ns() - t0) / events;
        perf_buffer__free(pb);
        if (perf_lost) {
            fprintf(stderr, "lost %lu samples: use more pages\n", perf_lost);
            return 3;
        }
    }
    printf("%.1f\n", median(times, rounds));
    return 0;
}

int main(int argc, char **argv)
{
    int fd;

    if (argc < 5) {
        fprintf(stderr, "usage: %s lookup|update|dump|perf PIN ...\n", argv[0]);
        return 64;
    }
    fd = bpf_obj_get(argv[2]);
    if (fd < 0) {
        perror("bpf_obj_get");
        return 1;
    }
    if (!strcmp(argv[1], "lookup") || !strcmp(argv[1], "update"))
        return single(fd, argv[1][0] == 'u', atoi(argv[3]), atoi(argv[4]));
    if (!strcmp(argv[1], "perf") && argc >= 7)
        return perf(fd, atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
    if (!strcmp(argv[1], "dump") && argc >= 6)
        return dump(fd, atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    return 64;
}
