/* Fast paths for maps: integer lookups/updates without Python-side buffers, whole-map
 * batch dumps, and mappings of BPF_F_MMAPABLE maps. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include "maps.h"

#define LPY_SENTINEL_U UINT64_MAX
#define LPY_SENTINEL_S INT64_MIN

static inline int lpy__fits_u(uint64_t v, __u32 size)
{
    return size >= 8 || (v >> (size * 8)) == 0;
}

static inline int lpy__fits_s(int64_t v, __u32 size)
{
    int64_t lim;

    if (size >= 8)
        return 1;
    lim = (int64_t)1 << (size * 8 - 1);
    return v >= -lim && v < lim;
}

static inline int64_t lpy__sext(uint64_t raw, __u32 size)
{
    int shift;

    if (size >= 8)
        return (int64_t)raw;
    shift = 64 - size * 8;
    return (int64_t)(raw << shift) >> shift;
}

/* Little-endian: the low key_size bytes of the 64-bit argument are the key. */
static inline int lpy__lookup_raw(const struct lpy_map *m, uint64_t key, int key_ok,
                                  uint64_t *raw)
{
    uint64_t value = 0;

    if (m->fd < 0)
        return LPY_ECLOSED;
    if (!key_ok)
        return LPY_EKEYRANGE;
    if (bpf_map_lookup_elem(m->fd, &key, &value) < 0)
        return errno;
    *raw = value;
    return 0;
}

#define LPY_LOOKUP(NAME, KT, KFITS, RT, CONV, SENT)                                     \
    RT NAME(const struct lpy_map *m, KT key)                                            \
    {                                                                                   \
        uint64_t raw = 0;                                                               \
        int err = lpy__lookup_raw(m, (uint64_t)key, KFITS(key, m->key_size), &raw);     \
        errno = err;                                                                    \
        if (err)                                                                        \
            return SENT;                                                                \
        return CONV;                                                                    \
    }

LPY_LOOKUP(lpy_lookup_uu, uint64_t, lpy__fits_u, uint64_t, raw, LPY_SENTINEL_U)
LPY_LOOKUP(lpy_lookup_us, uint64_t, lpy__fits_u, int64_t, lpy__sext(raw, m->value_size), LPY_SENTINEL_S)
LPY_LOOKUP(lpy_lookup_su, int64_t, lpy__fits_s, uint64_t, raw, LPY_SENTINEL_U)
LPY_LOOKUP(lpy_lookup_ss, int64_t, lpy__fits_s, int64_t, lpy__sext(raw, m->value_size), LPY_SENTINEL_S)

#define LPY_UPDATE(NAME, KT, KFITS, VT, VFITS)                                          \
    int NAME(const struct lpy_map *m, KT key, VT value, uint64_t flags)                 \
    {                                                                                   \
        uint64_t k = (uint64_t)key, v = (uint64_t)value;                                \
        if (m->fd < 0)                                                                  \
            return -LPY_ECLOSED;                                                        \
        if (!KFITS(key, m->key_size))                                                   \
            return -LPY_EKEYRANGE;                                                      \
        if (!VFITS(value, m->value_size))                                               \
            return -LPY_EVALUERANGE;                                                    \
        return bpf_map_update_elem(m->fd, &k, &v, flags);                               \
    }

LPY_UPDATE(lpy_update_uu, uint64_t, lpy__fits_u, uint64_t, lpy__fits_u)
LPY_UPDATE(lpy_update_us, uint64_t, lpy__fits_u, int64_t, lpy__fits_s)
LPY_UPDATE(lpy_update_su, int64_t, lpy__fits_s, uint64_t, lpy__fits_u)
LPY_UPDATE(lpy_update_ss, int64_t, lpy__fits_s, int64_t, lpy__fits_s)

#define LPY_DELETE(NAME, KT, KFITS)                                                     \
    int NAME(const struct lpy_map *m, KT key)                                           \
    {                                                                                   \
        uint64_t k = (uint64_t)key;                                                     \
        if (m->fd < 0)                                                                  \
            return -LPY_ECLOSED;                                                        \
        if (!KFITS(key, m->key_size))                                                   \
            return -LPY_EKEYRANGE;                                                      \
        return bpf_map_delete_elem(m->fd, &k);                                          \
    }

LPY_DELETE(lpy_delete_u, uint64_t, lpy__fits_u)
LPY_DELETE(lpy_delete_s, int64_t, lpy__fits_s)

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
