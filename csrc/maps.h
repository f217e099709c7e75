/* Types and constants of the map fast paths (csrc/maps.c), shared with Python: the C
 * sources #include this file, and cdef/50-maps.h names it (see build_ffi.py). */
#ifndef LIBBPF_PY_MAPS_H
#define LIBBPF_PY_MAPS_H
#include <linux/types.h>

/* One per Map, filled once: the C side of m[k] needs nothing else. fd -1: closed. */
struct lpy_map {
    int fd;
    __u32 key_size;
    __u32 value_size;
    __u32 flags;
};

/* Errors the fast paths report besides -errno: above every errno, so Python tells them
 * apart from the kernel's. */
#define LPY_ECLOSED 100001
#define LPY_EKEYRANGE 100002
#define LPY_EVALUERANGE 100003

#endif
