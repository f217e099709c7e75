/* Fast paths for maps: whole-map batch dumps, and mappings of BPF_F_MMAPABLE and arena
 * maps. Single entries are csrc/mapcore.c's. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <linux/types.h>

long lpy_map_dump(int fd, void *keys, void *values, __u32 key_size, __u32 value_size,
                  __u32 cap, __u32 chunk, int delete, int *more)
{
    /* Batch tokens are a bucket index (hash) or a key (arrays): room for either. */
    uint64_t tok_a[32], tok_b[32];
    void *in = NULL, *out = tok_a;
    long total = 0;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);

    *more = 0;
    if (key_size > sizeof(tok_a))
        return -EINVAL;
    while ((__u32)total < cap) {
        __u32 count = cap - (__u32)total < chunk ? cap - (__u32)total : chunk;
        char *k = (char *)keys + (size_t)total * key_size;
        char *v = (char *)values + (size_t)total * value_size;
        int ret = delete ? bpf_map_lookup_and_delete_batch(fd, in, out, k, v, &count, &opts)
                         : bpf_map_lookup_batch(fd, in, out, k, v, &count, &opts);
        int err = ret < 0 ? errno : 0;

        total += count;
        if (err == ENOENT)
            return total;
        if (err == ENOSPC && count == 0) {
            /* The next hash bucket does not fit in this step's count. Give it all the
             * room that is left; if even that is too small, a capped dump stops here. */
            __u32 room = cap - (__u32)total;

            if (chunk < room) {
                chunk = room;
                continue;
            }
            if (total > 0) {
                *more = 1;
                return total;
            }
        }
        if (err)
            return -err;
        in = out;
        out = (out == tok_a) ? (void *)tok_b : (void *)tok_a;
    }
    *more = 1;
    return total;
}

void *lpy_mmap(int fd, size_t size, int writable)
{
    void *p = mmap(NULL, size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);

    return p == MAP_FAILED ? NULL : p;
}

void *lpy_mmap_arena(int fd, size_t size, uint64_t addr)
{
    /* A hint, not MAP_FIXED: the kernel accepts only the arena's own address, and a
     * mapping already there is never replaced. */
    void *p = mmap((void *)(uintptr_t)addr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

    if (p == MAP_FAILED)
        return NULL;
    if (addr && p != (void *)(uintptr_t)addr) {
        munmap(p, size);
        errno = EBUSY;
        return NULL;
    }
    return p;
}

int lpy_munmap(void *addr, size_t size)
{
    return munmap(addr, size) ? -errno : 0;
}
