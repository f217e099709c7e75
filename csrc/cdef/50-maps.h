/* Fast paths of libbpf_py.maps (csrc/maps.c). */

#include "maps.h"

/* Integer key -> integer value. Lookups return the value and set errno to 0, or return
 * the sentinel and set errno (ENOENT, LPY_ECLOSED, LPY_EKEYRANGE, ...): no out buffer,
 * so concurrent threads never share one. k/v: u = unsigned 64-bit argument, s = signed. */
uint64_t lpy_lookup_uu(const struct lpy_map *m, uint64_t key);
int64_t lpy_lookup_us(const struct lpy_map *m, uint64_t key);
uint64_t lpy_lookup_su(const struct lpy_map *m, int64_t key);
int64_t lpy_lookup_ss(const struct lpy_map *m, int64_t key);
int lpy_update_uu(const struct lpy_map *m, uint64_t key, uint64_t value, uint64_t flags);
int lpy_update_us(const struct lpy_map *m, uint64_t key, int64_t value, uint64_t flags);
int lpy_update_su(const struct lpy_map *m, int64_t key, uint64_t value, uint64_t flags);
int lpy_update_ss(const struct lpy_map *m, int64_t key, int64_t value, uint64_t flags);
int lpy_delete_u(const struct lpy_map *m, uint64_t key);
int lpy_delete_s(const struct lpy_map *m, int64_t key);

/* Dump a whole map with BPF_MAP_LOOKUP_BATCH (or LOOKUP_AND_DELETE_BATCH when
 * delete != 0) into keys/values arrays of capacity cap entries, chunk entries per call.
 * Returns the number of entries or -errno; *more is set when cap was too small. */
long lpy_map_dump(int fd, void *keys, void *values, __u32 key_size, __u32 value_size,
                  __u32 cap, __u32 chunk, int delete, int *more);

/* Map a BPF_F_MMAPABLE map (or return NULL with errno); unmapped by lpy_munmap. */
void *lpy_mmap(int fd, size_t size, int writable);
int lpy_munmap(void *addr, size_t size);

/* Map an arena map's pages (or return NULL with errno): at addr when the arena was
 * created for that address (map_extra), else where the kernel picks; lpy_munmap unmaps. */
void *lpy_mmap_arena(int fd, size_t size, uint64_t addr);
