/* Event channels for libbpf_py: ring buffer records drained in C into one buffer, and
 * the trampolines that carry ring/perf buffer callbacks into Python.
 *
 * Why C: a Python call per record costs about a microsecond; copying a record costs
 * nanoseconds. drain() therefore copies every record into one growing buffer with an
 * offsets array, and Python makes objects only for the records it is asked for. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define LPY_MODE_BATCH 0
#define LPY_MODE_CALLBACK 1
/* What a callback returns to make libbpf stop: no errno libbpf itself returns. */
#define LPY_STOP (-ECANCELED)

struct lpy_batch {
    char *data;
    size_t used;
    size_t capacity;
    __u64 *offsets;
    __u32 *rings;
    size_t count;
    size_t slots;
    __u32 min_size;
    __u32 max_size;
    int failed;
};

struct lpy_ring_ctx {
    struct lpy_batch **batch;
    void *handle;
    __u32 index;
    int mode;
};

static int lpy_on_ring_record(void *handle, void *data, size_t size);
static void lpy_on_perf_sample(void *handle, int cpu, void *data, __u32 size);
static void lpy_on_perf_lost(void *handle, int cpu, __u64 count);

static struct lpy_batch *lpy_batch_new(void)
{
    struct lpy_batch *b = calloc(1, sizeof(*b));

    if (!b)
        return NULL;
    b->min_size = (__u32)-1;
    b->offsets = malloc(sizeof(__u64));
    if (!b->offsets) {
        free(b);
        return NULL;
    }
    b->offsets[0] = 0;
    return b;
}

static void lpy_batch_free(struct lpy_batch *b)
{
    if (!b)
        return;
    free(b->data);
    free(b->offsets);
    free(b->rings);
    free(b);
}

static void lpy_free(void *ptr)
{
    free(ptr);
}

static void lpy_batch_take(struct lpy_batch *b, struct lpy_batch *out)
{
    *out = *b;
    b->data = NULL;
    b->used = 0;
    b->capacity = 0;
    b->rings = NULL;
    b->count = 0;
    b->slots = 0;
    b->min_size = (__u32)-1;
    b->max_size = 0;
    b->failed = 0;
    /* offsets[0] is always 0: a fresh one-slot array until the first record grows it. */
    b->offsets = malloc(sizeof(__u64));
    if (b->offsets)
        b->offsets[0] = 0;
    else
        b->failed = ENOMEM;
}

/* Room for one more record of `size` bytes; doubling keeps appends amortised O(1). */
static int lpy_batch_reserve(struct lpy_batch *b, size_t size)
{
    if (!b->offsets)
        return -ENOMEM;
    if (b->count + 1 >= b->slots) {
        size_t slots = b->slots ? b->slots * 2 : 4096;
        __u64 *offsets = realloc(b->offsets, (slots + 1) * sizeof(__u64));
        __u32 *rings;

        if (!offsets)
            return -ENOMEM;
        b->offsets = offsets;
        rings = realloc(b->rings, slots * sizeof(__u32));
        if (!rings)
            return -ENOMEM;
        b->rings = rings;
        b->slots = slots;
    }
    if (b->used + size > b->capacity) {
        size_t capacity = b->capacity ? b->capacity * 2 : 65536;
        char *data;

        while (capacity < b->used + size)
            capacity *= 2;
        data = realloc(b->data, capacity);
        if (!data)
            return -ENOMEM;
        b->data = data;
        b->capacity = capacity;
    }
    return 0;
}

static int lpy_ring_sample(void *ctx, void *data, size_t size)
{
    struct lpy_ring_ctx *ring = ctx;
    struct lpy_batch *b;

    if (ring->mode == LPY_MODE_CALLBACK)
        return lpy_on_ring_record(ring->handle, data, size);
    b = *ring->batch;
    if (lpy_batch_reserve(b, size)) {
        b->failed = ENOMEM;
        return LPY_STOP;
    }
    memcpy(b->data + b->used, data, size);
    b->used += size;
    b->rings[b->count] = ring->index;
    b->count++;
    b->offsets[b->count] = b->used;
    if (size < b->min_size)
        b->min_size = (__u32)size;
    if (size > b->max_size)
        b->max_size = (__u32)size;
    return 0;
}

static struct ring_buffer *lpy_ring_buffer_new(int map_fd, struct lpy_ring_ctx *ctx)
{
    return ring_buffer__new(map_fd, lpy_ring_sample, ctx, NULL);
}

static int lpy_ring_buffer_add(struct ring_buffer *rb, int map_fd, struct lpy_ring_ctx *ctx)
{
    return ring_buffer__add(rb, map_fd, lpy_ring_sample, ctx);
}

static void lpy_perf_sample(void *ctx, int cpu, void *data, __u32 size)
{
    lpy_on_perf_sample(ctx, cpu, data, size);
}

static void lpy_perf_lost(void *ctx, int cpu, __u64 count)
{
    lpy_on_perf_lost(ctx, cpu, count);
}

static struct perf_buffer *lpy_perf_buffer_new(int map_fd, size_t page_cnt, void *handle)
{
    return perf_buffer__new(map_fd, page_cnt, lpy_perf_sample, lpy_perf_lost, handle, NULL);
}

struct lpy_test_run {
    __u32 retval;
    __u32 duration;
    __u32 data_size_out;
    __u32 ctx_size_out;
};

static int lpy_test_run(int prog_fd, const char *data, __u32 data_len, void *data_out,
                        __u32 data_out_cap, const char *ctx, __u32 ctx_len, void *ctx_out,
                        int repeat, __u32 flags, __u32 cpu, __u32 batch_size,
                        struct lpy_test_run *out)
{
    LIBBPF_OPTS(bpf_test_run_opts, opts,
        .data_in = data_len ? data : NULL,
        .data_size_in = data_len,
        .data_out = data_out_cap ? data_out : NULL,
        .data_size_out = data_out_cap,
        .ctx_in = ctx_len ? ctx : NULL,
        .ctx_size_in = ctx_len,
        .ctx_out = ctx_out && ctx_len ? ctx_out : NULL,
        .ctx_size_out = ctx_out ? ctx_len : 0,
        .repeat = repeat,
        .flags = flags,
        .cpu = cpu,
        .batch_size = batch_size,
    );
    int err = bpf_prog_test_run_opts(prog_fd, &opts);

    out->retval = opts.retval;
    out->duration = opts.duration;
    out->data_size_out = opts.data_size_out;
    out->ctx_size_out = opts.ctx_size_out;
    return err;
}

struct lpy_test_req {
    char *out;
    __u32 out_cap;
    __u32 retval;
    __u32 duration;
    __u32 size_out;
};

static int lpy_test_run_packet(int prog_fd, const char *data, __u32 data_len, int repeat,
                               struct lpy_test_req *req)
{
    LIBBPF_OPTS(bpf_test_run_opts, opts,
        .data_in = data,
        .data_size_in = data_len,
        .data_out = req->out,
        .data_size_out = req->out_cap,
        .repeat = repeat,
    );
    int err = bpf_prog_test_run_opts(prog_fd, &opts);

    req->retval = opts.retval;
    req->duration = opts.duration;
    req->size_out = opts.data_size_out;
    return err;
}
