/* The C baseline of RingBuffer.drain(): the same producer object (bench/execute/
 * burst.bpf.c), the same vendored libbpf, ring_buffer__consume with a callback that
 * counts records and reads each record's number.
 *
 *   ringbuf_c OBJECT PROGRAM RECORDS ROUNDS  ->  one "events_per_s <float>" line a round */
#include <stdlib.h>
#include "baseline.h"

struct tally {
    unsigned long count;
    unsigned long long sum;
};

static int on_record(void *ctx, void *data, size_t size)
{
    struct tally *t = ctx;

    t->count++;
    t->sum += *(unsigned long long *)data;
    return 0;
}

int main(int argc, char **argv)
{
    struct bpf_object *obj;
    struct ring_buffer *rb;
    struct tally tally = {0};
    unsigned int count;
    long records, rounds, r;
    int fd;

    if (argc != 5) {
        fprintf(stderr, "usage: %s OBJECT PROGRAM RECORDS ROUNDS\n", argv[0]);
        return 2;
    }
    records = atol(argv[3]);
    rounds = atol(argv[4]);
    count = (unsigned int)records;
    obj = bpf_object__open_file(argv[1], NULL);
    if (obj)
        bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, "ring_a"), 1 << 25);
    fd = load_program(obj, argv[1], argv[2]);
    if (fd < 0)
        return 1;
    rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "ring_a")),
                          on_record, &tally, NULL);
    if (!rb)
        return 1;
    for (r = 0; r < rounds; r++) {
        LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &count, .ctx_size_in = sizeof(count));
        double start;
        int got;

        if (bpf_prog_test_run_opts(fd, &opts))
            return 1;
        tally.count = 0;
        start = now();
        got = ring_buffer__consume(rb);
        if (got != records || tally.count != (unsigned long)records) {
            fprintf(stderr, "consumed %d of %ld\n", got, records);
            return 1;
        }
        printf("events_per_s %.0f\n", records / (now() - start));
    }
    ring_buffer__free(rb);
    bpf_object__close(obj);
    return tally.sum == 0;  /* keeps the sum alive; records are numbered from 0 */
}
