/* Event channels for libbpf_py: ring buffer records drained in C into one buffer, and
 * the trampoline that carries ring buffer callbacks into Python (perf buffers: perfcore.c).
 *
 * Why C: a Python call per record costs about a microsecond; copying a record costs
 * nanoseconds. drain() therefore copies every record into one growing buffer with an
 * offsets array, and Python makes objects only for the records it is asked for. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "events.h"

static int lpy_on_ring_record(void *handle, void *data, size_t size);

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
    b->failed = 0;
    /* offsets[0] is always 0: a fresh one-slot array until the first record grows it. */
    b->offsets = malloc(sizeof(__u64));
    if (b->offsets)
        b->offsets[0] = 0;
    else
        b->failed = ENOMEM;
}

#define LPY_HUGE ((size_t)2 << 20)

/* Index arrays for `slots` records (offsets has one more entry: offsets[0] = 0). */
static int lpy_batch_set_slots(struct lpy_batch *b, size_t slots)
{
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
    return 0;
}

/* A data buffer of at least `capacity` bytes, keeping what is used. Cache-line aligned,
 * so that streaming copies (lpy_ring_walk) apply; big ones in 2 MiB pages, which means
 * far fewer page faults and TLB misses. */
static int lpy_batch_set_capacity(struct lpy_batch *b, size_t capacity)
{
    size_t align = capacity >= LPY_HUGE ? LPY_HUGE : 64;
    char *data;

    capacity = (capacity + align - 1) & ~(align - 1);
    data = aligned_alloc(align, capacity);
    if (!data)
        return -ENOMEM;
    if (align == LPY_HUGE)
        madvise(data, capacity, MADV_HUGEPAGE);
    if (b->used)
        memcpy(data, b->data, b->used);
    free(b->data);
    b->data = data;
    b->capacity = capacity;
    return 0;
}

/* Room for one more record of `size` bytes; doubling keeps appends amortised O(1). */
static int lpy_batch_reserve(struct lpy_batch *b, size_t size)
{
    if (!b->offsets)
        return -ENOMEM;
    if (b->count + 1 >= b->slots && lpy_batch_set_slots(b, b->slots ? b->slots * 2 : 4096))
        return -ENOMEM;
    if (b->used + size > b->capacity) {
        size_t capacity = b->capacity ? b->capacity * 2 : 65536;

        while (capacity < b->used + size)
            capacity *= 2;
        return lpy_batch_set_capacity(b, capacity);
    }
    return 0;
}

static int lpy_ring_sample(void *ctx, void *data, size_t size)
{
    struct lpy_ring_ctx *ring = ctx;
    struct lpy_batch *b;
    char *dst;

    if (ring->mode == LPY_MODE_CALLBACK)
        return lpy_on_ring_record(ring->handle, data, size);
    b = *ring->batch;
    /* +8: small records are copied in whole 8-byte words (see below). */
    if ((b->count + 1 >= b->slots || b->used + size + 8 > b->capacity) &&
        lpy_batch_reserve(b, size + 8)) {
        b->failed = ENOMEM;
        return LPY_STOP;
    }
    dst = b->data + b->used;
    if (size <= 64) {
        /* Ring records are 8-byte aligned and padded, so whole words never read past
         * the record; a short fixed-size loop beats a memcpy call for small records. */
        const __u64 *src = data;
        __u64 word;
        size_t i;

        for (i = 0; i < (size + 7) / 8; i++) {
            memcpy(&word, src + i, 8);
            memcpy(dst + 8 * i, &word, 8);
        }
    } else {
        memcpy(dst, data, size);
    }
    b->used += size;
    b->rings[b->count] = ring->index;
    b->count++;
    b->offsets[b->count] = b->used;
    return 0;
}

/* Make room for `bytes` of records and `records` more records at once (drain knows how
 * much the rings hold), so that one drain grows the arrays at most once. */
static int lpy_batch_grow(struct lpy_batch *b, size_t bytes, size_t records)
{
    if (!b->offsets)
        return -ENOMEM;
    if (b->count + records + 1 > b->slots && lpy_batch_set_slots(b, b->count + records + 1))
        return -ENOMEM;
    if (b->used + bytes + 8 > b->capacity)
        return lpy_batch_set_capacity(b, b->used + bytes + 8);
    return 0;
}

/* Take over arrays a finished batch gave back (their pages are already touched, which
 * saves the page faults of fresh memory). Only into an empty batch. */
static void lpy_batch_adopt(struct lpy_batch *b, char *data, size_t capacity,
                            __u64 *offsets, __u32 *rings, size_t slots)
{
    if (data) {
        free(b->data);
        b->data = data;
        b->capacity = capacity;
    }
    if (offsets && rings) {
        free(b->offsets);
        free(b->rings);
        b->offsets = offsets;
        b->rings = rings;
        b->slots = slots;
        b->offsets[0] = 0;
    }
}

static struct ring_buffer *lpy_ring_buffer_new(int map_fd, struct lpy_ring_ctx *ctx)
{
    return ring_buffer__new(map_fd, lpy_ring_sample, ctx, NULL);
}

static int lpy_ring_buffer_add(struct ring_buffer *rb, int map_fd, struct lpy_ring_ctx *ctx)
{
    return ring_buffer__add(rb, map_fd, lpy_ring_sample, ctx);
}

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

/* drain() reads a ring directly from its own mapping of the map, the way libbpf's
 * ringbuf.c does, but copies in one tight loop and publishes the consumer position
 * once per stretch rather than once per record. The consumer position lives in the
 * kernel's page, so libbpf's reader of the same ring sees every move. */
#define LPY_RB_BUSY (1U << 31)
#define LPY_RB_DISCARD (1U << 30)
#define LPY_RB_HDR 8

static int lpy_ring_map_open(int map_fd, __u32 max_entries, struct lpy_ring_map *m)
{
    void *tmp;

    memset(m, 0, sizeof(*m));
    m->page = (size_t)sysconf(_SC_PAGESIZE);
    m->data_size = max_entries;
    m->mask = max_entries - 1;
    tmp = mmap(NULL, m->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
    if (tmp == MAP_FAILED)
        return -errno;
    m->consumer_pos = tmp;
    tmp = mmap(NULL, m->page + 2 * (size_t)max_entries, PROT_READ, MAP_SHARED, map_fd,
               (off_t)m->page);
    if (tmp == MAP_FAILED) {
        int err = -errno;

        munmap(m->consumer_pos, m->page);
        m->consumer_pos = NULL;
        return err;
    }
    m->producer_pos = tmp;
    m->data = (char *)tmp + m->page;
    return 0;
}

static void lpy_ring_map_close(struct lpy_ring_map *m)
{
    if (m->producer_pos)
        munmap(m->producer_pos, m->page + 2 * m->data_size);
    if (m->consumer_pos)
        munmap(m->consumer_pos, m->page);
    m->producer_pos = NULL;
    m->consumer_pos = NULL;
}

/* Large drains copy with non-temporal stores: a batch of megabytes does not fit in the
 * cache anyway, and streaming stores skip reading each destination line before writing
 * it (a third of the memory traffic of a plain copy), and leave the ring's lines, which
 * the next records need, in the cache. Small drains use plain stores, so the records are
 * still in the cache when Python reads them right after. */
#define LPY_STREAM_MIN ((size_t)1 << 20)

enum lpy_copy { LPY_COPY_PLAIN, LPY_COPY_SSE2, LPY_COPY_AVX2 };

static inline __attribute__((always_inline)) void
lpy_copy_small(char *dst, const char *src, __u32 size)
{
    /* Ring records are 8-byte aligned and padded, so whole words never read past the
     * record (the batch keeps 8 bytes of slack for the last write); a short loop beats
     * a memcpy call for small records. */
    __u64 word;
    __u32 i;

    for (i = 0; i < (size + 7) / 8; i++) {
        memcpy(&word, src + 8 * i, 8);
        memcpy(dst + 8 * i, &word, 8);
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

/* Streaming stores only where they fill whole lines of their own: a line written partly
 * by streaming and partly by plain stores (an unaligned record's head or tail) costs
 * far more than a plain copy of it, 30x in measurements here. Records whose start or
 * length is not a multiple of the vector width are copied plainly. */
static inline __attribute__((always_inline)) void
lpy_copy_sse2(char *dst, const char *src, size_t size)
{
    if (((uintptr_t)dst | size) & 15) {
        memcpy(dst, src, size);
        return;
    }
    for (; size; size -= 16, dst += 16, src += 16)
        _mm_stream_si128((__m128i *)dst, _mm_loadu_si128((const __m128i *)src));
}

__attribute__((target("avx2"))) static inline void
lpy_copy_avx2(char *dst, const char *src, size_t size)
{
    if (((uintptr_t)dst | size) & 31) {
        memcpy(dst, src, size);
        return;
    }
    for (; size; size -= 32, dst += 32, src += 32)
        _mm256_stream_si256((__m256i *)dst, _mm256_loadu_si256((const __m256i *)src));
}
#endif

/* The walk over one ring; `copy` is a constant in each caller, so every copy kind gets
 * its own loop with the copy inlined. */
static inline __attribute__((always_inline)) long
lpy_ring_walk(struct lpy_ring_map *m, __u32 index, struct lpy_batch *b, unsigned long prod,
              size_t max_records, enum lpy_copy copy)
{
    unsigned long cons = __atomic_load_n(m->consumer_pos, __ATOMIC_ACQUIRE);
    size_t taken = 0, since_publish = 0;
    char *dst = b->data + b->used;

    /* Only up to `prod`, the producer position the batch was sized for: producers keep
     * committing while we copy, and what they add now would not fit. The slot bound is
     * for zero-length records, which take 8 bytes of ring where drain counts 16. */
    while (cons < prod && taken < max_records && b->count < b->slots) {
        __u32 *hdr = (__u32 *)(m->data + (cons & m->mask));
        __u32 len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
        __u32 size;

        if (len & LPY_RB_BUSY)
            break;  /* not committed yet: stop here, as libbpf does */
        size = len & ~(LPY_RB_BUSY | LPY_RB_DISCARD);
        cons += (size + LPY_RB_HDR + 7) & ~7UL;
        if (!(len & LPY_RB_DISCARD)) {
            const char *src = (const char *)hdr + LPY_RB_HDR;

            if (size <= 64 || copy == LPY_COPY_PLAIN) {
                if (size <= 64)
                    lpy_copy_small(dst, src, size);
                else
                    memcpy(dst, src, size);
            }
#if defined(__x86_64__)
            else if (copy == LPY_COPY_AVX2)
                lpy_copy_avx2(dst, src, size);
            else
                lpy_copy_sse2(dst, src, size);
#endif
            dst += size;
            b->rings[b->count] = index;
            b->count++;
            b->offsets[b->count] = (__u64)(dst - b->data);
            taken++;
        }
        /* Let producers reuse the space now and then during long drains. */
        if (++since_publish == 4096) {
            __atomic_store_n(m->consumer_pos, cons, __ATOMIC_RELEASE);
            since_publish = 0;
        }
    }
    __atomic_store_n(m->consumer_pos, cons, __ATOMIC_RELEASE);
    b->used = (size_t)(dst - b->data);
    return (long)taken;
}

static long lpy_ring_walk_plain(struct lpy_ring_map *m, __u32 index, struct lpy_batch *b,
                                unsigned long prod, size_t max_records)
{
    return lpy_ring_walk(m, index, b, prod, max_records, LPY_COPY_PLAIN);
}

#if defined(__x86_64__)
static long lpy_ring_walk_sse2(struct lpy_ring_map *m, __u32 index, struct lpy_batch *b,
                               unsigned long prod, size_t max_records)
{
    long taken = lpy_ring_walk(m, index, b, prod, max_records, LPY_COPY_SSE2);

    _mm_sfence();  /* streamed stores are weakly ordered: publish them before returning */
    return taken;
}

__attribute__((target("avx2"))) static long
lpy_ring_walk_avx2(struct lpy_ring_map *m, __u32 index, struct lpy_batch *b, unsigned long prod,
                   size_t max_records)
{
    long taken = lpy_ring_walk(m, index, b, prod, max_records, LPY_COPY_AVX2);

    _mm_sfence();
    return taken;
}
#endif

/* Which copy large drains use: -1 until the first asks the CPU. Tests set it to run
 * each kind on any machine (lpy_ring_set_copy). */
static int lpy_stream_copy = -1;

static int lpy_ring_set_copy(int kind)
{
    int before = lpy_stream_copy;

#if defined(__x86_64__)
    if (kind == LPY_COPY_AVX2 && !__builtin_cpu_supports("avx2"))
        return -ENOTSUP;
#else
    if (kind != LPY_COPY_PLAIN)
        return -ENOTSUP;
#endif
    lpy_stream_copy = kind;
    return before;
}

/* One stretch of the walk: what the ring holds up to `prod`, at most max_records. */
static long lpy_ring_drain_to(struct lpy_ring_map *m, __u32 index, struct lpy_batch *b,
                              unsigned long prod, size_t max_records)
{
    unsigned long cons = __atomic_load_n(m->consumer_pos, __ATOMIC_ACQUIRE);
    size_t avail = prod - cons;
    size_t room = avail / (2 * LPY_RB_HDR) + 1;

    if (room > max_records)
        room = max_records;
    /* Every record's bytes fit in avail; copies of small records write up to 8 more. */
    if (lpy_batch_grow(b, avail, room))
        return -ENOMEM;
    if (avail < LPY_STREAM_MIN)
        return lpy_ring_walk_plain(m, index, b, prod, max_records);
#if defined(__x86_64__)
    if (lpy_stream_copy < 0)
        lpy_stream_copy = __builtin_cpu_supports("avx2") ? LPY_COPY_AVX2 : LPY_COPY_SSE2;
    if (lpy_stream_copy == LPY_COPY_AVX2)
        return lpy_ring_walk_avx2(m, index, b, prod, max_records);
    if (lpy_stream_copy == LPY_COPY_SSE2)
        return lpy_ring_walk_sse2(m, index, b, prod, max_records);
#endif
    return lpy_ring_walk_plain(m, index, b, prod, max_records);
}

/* The records a ring holds now (the producer position read once, at the start). */
static long lpy_ring_drain(struct lpy_ring_map *m, __u32 index, struct lpy_batch *b,
                           size_t max_records)
{
    unsigned long prod = __atomic_load_n(m->producer_pos, __ATOMIC_ACQUIRE);
    long total = 0;

    /* A second stretch only when zero-length records filled the slots before `prod`. */
    for (;;) {
        unsigned long cons = __atomic_load_n(m->consumer_pos, __ATOMIC_ACQUIRE);
        long got;

        if (cons >= prod || (size_t)total >= max_records)
            break;
        got = lpy_ring_drain_to(m, index, b, prod, max_records - (size_t)total);
        if (got < 0)
            return got;
        total += got;
        if (__atomic_load_n(m->consumer_pos, __ATOMIC_ACQUIRE) == cons)
            break;  /* the next record is not committed yet */
    }
    return total;
}
