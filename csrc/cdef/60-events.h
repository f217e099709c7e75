/* Event channels (csrc/events.c): ring buffers drained in batches, and the trampoline
 * that carries ring buffer callbacks into Python (perf buffers: csrc/perfcore.c). */

#include "events.h"

struct lpy_batch *lpy_batch_new(void);
void lpy_batch_free(struct lpy_batch *batch);
/* Move the records out into `out` (whose arrays the caller frees with lpy_free) and
 * leave `batch` empty, so that memory handed to Python is never reallocated. */
void lpy_batch_take(struct lpy_batch *batch, struct lpy_batch *out);
void lpy_free(void *ptr);
int lpy_batch_grow(struct lpy_batch *batch, size_t bytes, size_t records);
void lpy_batch_adopt(struct lpy_batch *batch, char *data, size_t capacity, __u64 *offsets,
                     __u32 *rings, size_t slots);

struct ring_buffer *lpy_ring_buffer_new(int map_fd, struct lpy_ring_ctx *ctx);
int lpy_ring_buffer_add(struct ring_buffer *rb, int map_fd, struct lpy_ring_ctx *ctx);

extern "Python" int lpy_on_ring_record(void *handle, void *data, size_t size);

/* BPF_PROG_TEST_RUN with the fewest allocations: one call, results written to out.
 * data and ctx are char pointers so that Python bytes pass without a copy. */
int lpy_test_run(int prog_fd, const char *data, __u32 data_len, void *data_out,
                 __u32 data_out_cap, const char *ctx, __u32 ctx_len, void *ctx_out,
                 int repeat, __u32 flags, __u32 cpu, __u32 batch_size,
                 struct lpy_test_run *out);

/* A ring mapped for drain(): read straight from the kernel's pages. */
int lpy_ring_map_open(int map_fd, __u32 max_entries, struct lpy_ring_map *map);
void lpy_ring_map_close(struct lpy_ring_map *map);
long lpy_ring_drain(struct lpy_ring_map *map, __u32 index, struct lpy_batch *batch,
                    size_t max_records);
/* The copy drains of 1 MiB or more use: 0 plain, 1 SSE2 streaming, 2 AVX2 streaming.
 * Returns the previous choice (-1: not chosen yet), or -ENOTSUP on this CPU. */
int lpy_ring_set_copy(int kind);
