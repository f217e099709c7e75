/* Fast paths of libbpf_py.maps (csrc/maps.c). */


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
