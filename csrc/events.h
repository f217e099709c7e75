/* Types and constants of the event channels (csrc/events.c), shared with Python: the C
 * sources #include this file, and cdef/60-events.h names it (see build_ffi.py). */
#ifndef LIBBPF_PY_EVENTS_H
#define LIBBPF_PY_EVENTS_H
#include <errno.h>
#include <stddef.h>
#include <linux/types.h>

/* How a ring's records reach Python: copied into a batch, or one callback each. */
#define LPY_MODE_BATCH 0
#define LPY_MODE_CALLBACK 1
/* What a callback returns to make libbpf stop: no errno libbpf itself returns. */
#define LPY_STOP (-ECANCELED)

/* Records drained from ring buffers, packed back to back in one buffer. Record i is
 * data[offsets[i] .. offsets[i + 1]) and came from the ring with index rings[i]. */
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

/* One ring of a poller: either copies into the poller's batch or calls into Python. */
struct lpy_ring_ctx {
    struct lpy_batch **batch;
    void *handle;
    __u32 index;
    int mode;
};

/* The results of one BPF_PROG_TEST_RUN (lpy_test_run). */
struct lpy_test_run {
    __u32 retval;
    __u32 duration;
    __u32 data_size_out;
    __u32 ctx_size_out;
};

/* A ring mapped for drain(): read straight from the kernel's pages. */
struct lpy_ring_map {
    unsigned long *consumer_pos;
    unsigned long *producer_pos;
    char *data;
    unsigned long mask;
    size_t page;
    size_t data_size;
};

#endif
