/* Ring buffer records read in place (RingBuffer.borrow) and handed to Python in batches
 * (RingBuffer callbacks with batch=), as Python types made here rather than through CFFI.
 *
 * Why C types: a borrowed batch views the ring's own pages, which producers reuse once
 * the consumer position moves. Only an object that exports the memory itself can count
 * who still looks at it (bf_getbuffer / bf_releasebuffer) and refuse to give the pages
 * back while a view is alive; and only it can check, on every access, that the batch
 * was not released. CFFI buffers cannot do either.
 *
 * The C side owns what it reads: a RingMapping maps the ring itself from (fd,
 * max_entries), the way events.c's lpy_ring_map_open does for drain(). The consumer
 * position lives in the kernel's page, so every mapping and libbpf's reader see each
 * move. This file reads no Python attribute name: the Python side binds the batch class
 * and PhaseError once (lpy_ringcore_bind). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "events.h"

static PyObject *lpy_phase_error;  /* libbpf_py.errors.PhaseError */
static PyObject *lpy_batch_type;   /* the Python subclass of Batch that borrow() makes */
static PyObject *lpy_mapping_type;
static PyObject *lpy_record_type;
static PyObject *lpy_batch_base;   /* Batch, the C type */

/* ---- RingMapping: one ring mapped for reading in place ---------------------------- */

typedef struct {
    PyObject_HEAD
    struct lpy_ring_map map;
} lpy_mapping;

static PyObject *lpy_mapping_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    long fd;
    unsigned long entries;
    lpy_mapping *self;
    allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
    int err;

    if (kwds && PyDict_Size(kwds)) {
        PyErr_SetString(PyExc_TypeError, "RingMapping(fd, max_entries) takes no keywords");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "lk", &fd, &entries))
        return NULL;
    if (fd < 0 || fd > INT32_MAX || entries == 0 || entries > (1UL << 31) ||
        (entries & (entries - 1))) {
        PyErr_SetString(PyExc_ValueError, "RingMapping: a ring fd and a power-of-two size");
        return NULL;
    }
    self = (lpy_mapping *)alloc(type, 0);
    if (!self)
        return NULL;
    err = lpy_ring_map_open((int)fd, (__u32)entries, &self->map);
    if (err < 0) {
        Py_DECREF((PyObject *)self);
        errno = -err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return (PyObject *)self;
}

static void lpy_mapping_dealloc(PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    lpy_mapping *self = (lpy_mapping *)obj;

    lpy_ring_map_close(&self->map);
    ((freefunc)PyType_GetSlot(tp, Py_tp_free))(obj);
    Py_DECREF(tp);
}

static PyObject *lpy_mapping_positions(PyObject *obj, PyObject *unused)
{
    lpy_mapping *self = (lpy_mapping *)obj;

    return Py_BuildValue("kk", __atomic_load_n(self->map.consumer_pos, __ATOMIC_ACQUIRE),
                         __atomic_load_n(self->map.producer_pos, __ATOMIC_ACQUIRE));
}

static PyMethodDef lpy_mapping_methods[] = {
    {"positions", lpy_mapping_positions, METH_NOARGS,
     "positions() -> (consumer, producer): where the ring stands now"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot lpy_mapping_slots[] = {
    {Py_tp_new, lpy_mapping_new},
    {Py_tp_dealloc, lpy_mapping_dealloc},
    {Py_tp_methods, lpy_mapping_methods},
    {Py_tp_doc, "RingMapping(fd, max_entries): a ring buffer map mapped for reading in place."},
    {0, NULL},
};

static PyType_Spec lpy_mapping_spec = {
    "libbpf_py._lowlevel.ringcore.RingMapping", sizeof(lpy_mapping), 0, Py_TPFLAGS_DEFAULT,
    lpy_mapping_slots,
};

/* ---- Batch: records borrowed from one or more rings -------------------------------- */

/* Record i is `sizes[i]` bytes at `offsets[i]` of its ring's span (rings[i]); a ring's
 * span is its bytes from `start` to `end`, headers and discarded records included. */
struct lpy_span {
    lpy_mapping *ring;
    unsigned long start;
    unsigned long end;
};

typedef struct {
    PyObject_HEAD
    Py_ssize_t count;
    __u64 *offsets;
    __u32 *sizes;
    __u32 *rings;
    size_t slots;
    Py_ssize_t nspans;
    struct lpy_span *spans;
    Py_ssize_t exports;  /* buffers exported by the batch's records, still held */
    int released;
} lpy_borrowed;

/* The arrays of the last batch freed, kept for the next: memory already touched costs no
 * page faults, which would otherwise be a good part of a borrow's time. GIL-protected. */
static char *lpy_arrays_spare;
static size_t lpy_arrays_spare_slots;

#ifndef LPY_BORROW_AHEAD
#define LPY_BORROW_AHEAD 2048
#endif
#define LPY_SLOT_BYTES (sizeof(__u64) + 2 * sizeof(__u32))

static int lpy_borrowed_arrays(lpy_borrowed *b, size_t slots)
{
    char *mem;

    if (lpy_arrays_spare && lpy_arrays_spare_slots >= slots) {
        mem = lpy_arrays_spare;
        slots = lpy_arrays_spare_slots;
        lpy_arrays_spare = NULL;
    } else {
        mem = malloc(slots * LPY_SLOT_BYTES);
        if (!mem)
            return -1;
    }
    b->offsets = (__u64 *)mem;
    b->sizes = (__u32 *)(mem + slots * sizeof(__u64));
    b->rings = b->sizes + slots;
    b->slots = slots;
    return 0;
}

/* Twice the slots, the records so far kept (zero-length records take only 8 bytes of
 * ring, more records than the first estimate allows). */
static int lpy_borrowed_grow(lpy_borrowed *b, Py_ssize_t count)
{
    size_t slots = b->slots * 2;
    char *mem = malloc(slots * LPY_SLOT_BYTES);
    __u64 *offsets = (__u64 *)mem;
    __u32 *sizes = (__u32 *)(mem + slots * sizeof(__u64));

    if (!mem)
        return -1;
    memcpy(offsets, b->offsets, (size_t)count * sizeof(__u64));
    memcpy(sizes, b->sizes, (size_t)count * sizeof(__u32));
    memcpy(sizes + slots, b->rings, (size_t)count * sizeof(__u32));
    free(b->offsets);
    b->offsets = offsets;
    b->sizes = sizes;
    b->rings = sizes + slots;
    b->slots = slots;
    return 0;
}

static void lpy_borrowed_free_arrays(lpy_borrowed *b)
{
    char *mem = (char *)b->offsets;

    if (!mem)
        return;
    if (!lpy_arrays_spare || lpy_arrays_spare_slots < b->slots) {
        free(lpy_arrays_spare);
        lpy_arrays_spare = mem;
        lpy_arrays_spare_slots = b->slots;
    } else {
        free(mem);
    }
    b->offsets = NULL;
    b->sizes = b->rings = NULL;
}

static void lpy_borrowed_dealloc(PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    lpy_borrowed *self = (lpy_borrowed *)obj;
    Py_ssize_t i;

    /* Dropped unreleased: the records stay in the ring (the consumer position is the
     * RingBuffer's to move, and it holds its batch until the next call). */
    lpy_borrowed_free_arrays(self);
    for (i = 0; i < self->nspans; i++)
        Py_XDECREF((PyObject *)self->spans[i].ring);
    free(self->spans);
    ((freefunc)PyType_GetSlot(tp, Py_tp_free))(obj);
    Py_DECREF(tp);
}

static int lpy_check_live(lpy_borrowed *b)
{
    if (b->released) {
        if (!lpy_phase_error) {
            PyErr_SetString(PyExc_RuntimeError, "libbpf_py: PhaseError is unbound");
            return -1;
        }
        PyErr_SetString(lpy_phase_error,
                        "this borrowed batch was released: its records are the producers' "
                        "again; copy what you keep (bytes(record)) before releasing, or use "
                        "drain() for records that outlive the batch");
        return -1;
    }
    return 0;
}

static Py_ssize_t lpy_borrowed_len(PyObject *obj)
{
    lpy_borrowed *self = (lpy_borrowed *)obj;

    if (lpy_check_live(self))
        return -1;
    return self->count;
}

/* A Record: one stretch of a borrowed batch's memory, exported as a read-only buffer
 * while the batch is live. */
typedef struct {
    PyObject_HEAD
    lpy_borrowed *batch;
    char *ptr;
    Py_ssize_t size;
} lpy_record;

static PyObject *lpy_record_make(lpy_borrowed *b, char *ptr, Py_ssize_t size)
{
    PyTypeObject *tp = (PyTypeObject *)lpy_record_type;
    lpy_record *rec = (lpy_record *)((allocfunc)PyType_GetSlot(tp, Py_tp_alloc))(tp, 0);

    if (!rec)
        return NULL;
    Py_INCREF((PyObject *)b);
    rec->batch = b;
    rec->ptr = ptr;
    rec->size = size;
    return (PyObject *)rec;
}

static char *lpy_span_base(struct lpy_span *s)
{
    return s->ring->map.data + (s->start & s->ring->map.mask);
}

static PyObject *lpy_borrowed_item(PyObject *obj, Py_ssize_t i)
{
    lpy_borrowed *self = (lpy_borrowed *)obj;

    if (lpy_check_live(self))
        return NULL;
    if (i < 0 || i >= self->count) {
        PyErr_Format(PyExc_IndexError, "record %zd of a batch of %zd", i, self->count);
        return NULL;
    }
    return lpy_record_make(self, lpy_span_base(&self->spans[self->rings[i]]) + self->offsets[i],
                           self->sizes[i]);
}

/* release() -> None: give the records back to the producers (move the consumer
 * positions). Refused, with nothing moved, while a record's buffer is still held. */
static PyObject *lpy_borrowed_release(PyObject *obj, PyObject *unused)
{
    lpy_borrowed *self = (lpy_borrowed *)obj;
    Py_ssize_t i;

    if (self->released)
        Py_RETURN_NONE;
    if (self->exports) {
        PyErr_Format(lpy_phase_error,
                     "cannot release a borrowed batch while %zd view(s) of its records are "
                     "alive (memoryviews or numpy arrays made from it): they would read "
                     "memory the producers reuse. Drop them (del, or memoryview.release()) "
                     "or copy them first; the records stay in the ring until then",
                     self->exports);
        return NULL;
    }
    for (i = 0; i < self->nspans; i++)
        __atomic_store_n(self->spans[i].ring->map.consumer_pos, self->spans[i].end,
                         __ATOMIC_RELEASE);
    self->released = 1;
    lpy_borrowed_free_arrays(self);
    Py_RETURN_NONE;
}

/* arrays() -> (offsets, sizes, rings) as bytes of u64, u32, u32 (copies: numbers only). */
static PyObject *lpy_borrowed_arrays_py(PyObject *obj, PyObject *unused)
{
    lpy_borrowed *self = (lpy_borrowed *)obj;
    Py_ssize_t n = self->count;

    PyObject *offsets, *sizes, *rings, *out = NULL;

    if (lpy_check_live(self))
        return NULL;
    offsets = PyBytes_FromStringAndSize((const char *)self->offsets, n * 8);
    sizes = PyBytes_FromStringAndSize((const char *)self->sizes, n * 4);
    rings = PyBytes_FromStringAndSize((const char *)self->rings, n * 4);
    if (offsets && sizes && rings)
        out = PyTuple_Pack(3, offsets, sizes, rings);
    Py_XDECREF(offsets);
    Py_XDECREF(sizes);
    Py_XDECREF(rings);
    return out;
}

/* span(ring) -> Record of ring's whole span: what a numpy view with strides looks at. */
static PyObject *lpy_borrowed_span(PyObject *obj, PyObject *arg)
{
    lpy_borrowed *self = (lpy_borrowed *)obj;
    Py_ssize_t ring = PyLong_AsSsize_t(arg);
    struct lpy_span *s;

    if (ring == -1 && PyErr_Occurred())
        return NULL;
    if (lpy_check_live(self))
        return NULL;
    if (ring < 0 || ring >= self->nspans) {
        PyErr_Format(PyExc_IndexError, "ring %zd of %zd", ring, self->nspans);
        return NULL;
    }
    s = &self->spans[ring];
    return lpy_record_make(self, lpy_span_base(s), (Py_ssize_t)(s->end - s->start));
}

static PyObject *lpy_borrowed_released(PyObject *obj, void *unused)
{
    return PyBool_FromLong(((lpy_borrowed *)obj)->released);
}

static PyObject *lpy_borrowed_exports(PyObject *obj, void *unused)
{
    return PyLong_FromSsize_t(((lpy_borrowed *)obj)->exports);
}

static PyObject *lpy_borrowed_rings(PyObject *obj, void *unused)
{
    return PyLong_FromSsize_t(((lpy_borrowed *)obj)->nspans);
}

static PyMethodDef lpy_borrowed_methods[] = {
    {"release", lpy_borrowed_release, METH_NOARGS,
     "release(): give the records back to the producers (PhaseError while views live)"},
    {"arrays", lpy_borrowed_arrays_py, METH_NOARGS,
     "arrays() -> (offsets, sizes, rings): bytes of u64, u32 and u32 per record"},
    {"span", lpy_borrowed_span, METH_O,
     "span(ring) -> the ring's borrowed bytes, headers included, as one record"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef lpy_borrowed_getset[] = {
    {"released", lpy_borrowed_released, NULL, "True once the records were given back", NULL},
    {"exports", lpy_borrowed_exports, NULL, "How many buffers of its records are held", NULL},
    {"ring_count", lpy_borrowed_rings, NULL, "How many rings the batch spans", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyObject *lpy_no_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyErr_SetString(PyExc_TypeError, "borrowed batches come from RingBuffer.borrow()");
    return NULL;
}

static PyType_Slot lpy_borrowed_slots[] = {
    {Py_tp_new, lpy_no_new},
    {Py_tp_dealloc, lpy_borrowed_dealloc},
    {Py_tp_methods, lpy_borrowed_methods},
    {Py_tp_getset, lpy_borrowed_getset},
    {Py_sq_length, lpy_borrowed_len},
    {Py_sq_item, lpy_borrowed_item},
    {Py_tp_doc, "Records borrowed from ring buffers, viewed in the rings' own pages."},
    {0, NULL},
};

static PyType_Spec lpy_borrowed_spec = {
    "libbpf_py._lowlevel.ringcore.Batch", sizeof(lpy_borrowed), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, lpy_borrowed_slots,
};

/* ---- Record ---------------------------------------------------------------------- */

static void lpy_record_dealloc(PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);

    Py_DECREF((PyObject *)((lpy_record *)obj)->batch);
    ((freefunc)PyType_GetSlot(tp, Py_tp_free))(obj);
    Py_DECREF(tp);
}

static int lpy_record_getbuffer(PyObject *obj, Py_buffer *view, int flags)
{
    lpy_record *self = (lpy_record *)obj;

    if (lpy_check_live(self->batch)) {
        view->obj = NULL;
        return -1;
    }
    if (PyBuffer_FillInfo(view, obj, self->ptr, self->size, 1, flags) < 0)
        return -1;
    self->batch->exports++;
    return 0;
}

static void lpy_record_releasebuffer(PyObject *obj, Py_buffer *view)
{
    ((lpy_record *)obj)->batch->exports--;
}

static Py_ssize_t lpy_record_len(PyObject *obj)
{
    lpy_record *self = (lpy_record *)obj;

    if (lpy_check_live(self->batch))
        return -1;
    return self->size;
}

static PyObject *lpy_record_repr(PyObject *obj)
{
    lpy_record *self = (lpy_record *)obj;

    return PyUnicode_FromFormat("<borrowed record %zd bytes%s>", self->size,
                                self->batch->released ? ", released" : "");
}

static PyType_Slot lpy_record_slots[] = {
    {Py_tp_new, lpy_no_new},
    {Py_tp_dealloc, lpy_record_dealloc},
    {Py_tp_repr, lpy_record_repr},
    {Py_sq_length, lpy_record_len},
    {Py_bf_getbuffer, lpy_record_getbuffer},
    {Py_bf_releasebuffer, lpy_record_releasebuffer},
    {Py_tp_doc, "One borrowed record: a read-only buffer valid until its batch is released."},
    {0, NULL},
};

static PyType_Spec lpy_record_spec = {
    "libbpf_py._lowlevel.ringcore.Record", sizeof(lpy_record), 0, Py_TPFLAGS_DEFAULT,
    lpy_record_slots,
};

/* ---- borrow and the batched consume loop ----------------------------------------- */

static int lpy_is_mapping(PyObject *obj)
{
    return PyObject_TypeCheck(obj, (PyTypeObject *)lpy_mapping_type);
}

/* borrow(rings, max_records) -> Batch: the committed records of every RingMapping in
 * the tuple `rings` (in order, up to max_records in all), without moving anything. */
static PyObject *lpy_borrow(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    PyTypeObject *tp = (PyTypeObject *)lpy_batch_type;
    unsigned long long max_records;
    lpy_borrowed *b;
    Py_ssize_t nrings, i;
    size_t slots = 1;

    if (!tp) {
        PyErr_SetString(PyExc_RuntimeError, "libbpf_py: the borrowed batch type is unbound");
        return NULL;
    }
    if (nargs != 2 || !PyTuple_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "borrow(rings: tuple, max_records: int)");
        return NULL;
    }
    max_records = PyLong_AsUnsignedLongLong(args[1]);
    if (max_records == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    nrings = PyTuple_Size(args[0]);
    for (i = 0; i < nrings; i++) {
        PyObject *r = PyTuple_GetItem(args[0], i);
        lpy_mapping *m = (lpy_mapping *)r;

        if (!lpy_is_mapping(r)) {
            PyErr_SetString(PyExc_TypeError, "borrow: rings must be RingMappings");
            return NULL;
        }
        /* A record with data takes at least 16 bytes of ring; zero-length ones, 8,
         * grow the arrays on the way. */
        slots += (__atomic_load_n(m->map.producer_pos, __ATOMIC_ACQUIRE) -
                  __atomic_load_n(m->map.consumer_pos, __ATOMIC_ACQUIRE)) / (2 * LPY_RB_HDR);
    }
    if (max_records < slots - 1)
        slots = (size_t)max_records + 1;
    b = (lpy_borrowed *)((allocfunc)PyType_GetSlot(tp, Py_tp_alloc))(tp, 0);
    if (!b)
        return NULL;
    b->spans = calloc(nrings ? (size_t)nrings : 1, sizeof(*b->spans));
    if (!b->spans || lpy_borrowed_arrays(b, slots)) {
        Py_DECREF((PyObject *)b);
        return PyErr_NoMemory();
    }
    b->nspans = nrings;
    for (i = 0; i < nrings; i++) {
        lpy_mapping *m = (lpy_mapping *)PyTuple_GetItem(args[0], i);
        struct lpy_ring_map *rm = &m->map;
        unsigned long cons = __atomic_load_n(rm->consumer_pos, __ATOMIC_ACQUIRE);
        unsigned long prod = __atomic_load_n(rm->producer_pos, __ATOMIC_ACQUIRE);
        unsigned long start = cons;
        char *base = rm->data + (start & rm->mask);
        Py_ssize_t n = b->count;
        size_t limit = (size_t)(max_records < (unsigned long long)PY_SSIZE_T_MAX
                                    ? max_records : (unsigned long long)PY_SSIZE_T_MAX);
        /* Locals, so that the stores into the arrays need not reload them. */
        __u64 *offsets = b->offsets;
        __u32 *sizes = b->sizes, *rings = b->rings;
        size_t slots = b->slots;
        const char *data = rm->data;
        unsigned long mask = rm->mask;

        Py_INCREF((PyObject *)m);
        b->spans[i].ring = m;
        b->spans[i].start = start;
        /* Only up to `prod` as read at the start, as drain() does. */
        while (cons < prod && (size_t)n < limit) {
            const __u32 *hdr = (const __u32 *)(data + (cons & mask));
            __u32 len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
            __u32 size;

            if (len & LPY_RB_BUSY)
                break;  /* not committed yet: the batch ends here, as libbpf's reader does */
            /* Each header's address depends on the one before, so a walk that reads
             * only headers waits for memory once a record; fetching ahead keeps the
             * lines coming (a copying drain gets that from its reads of the records). */
            __builtin_prefetch(data + ((cons + LPY_BORROW_AHEAD) & mask));
            size = len & ~(LPY_RB_BUSY | LPY_RB_DISCARD);
            if (!(len & LPY_RB_DISCARD)) {
                if ((size_t)n >= slots) {
                    b->count = n;
                    if (lpy_borrowed_grow(b, n)) {
                        b->spans[i].end = start;
                        Py_DECREF((PyObject *)b);
                        return PyErr_NoMemory();
                    }
                    offsets = b->offsets;
                    sizes = b->sizes;
                    rings = b->rings;
                    slots = b->slots;
                }
                offsets[n] = (__u64)((const char *)hdr + LPY_RB_HDR - base);
                sizes[n] = size;
                rings[n] = (__u32)i;
                n++;
            }
            cons += (size + LPY_RB_HDR + 7) & ~7UL;
        }
        b->spans[i].end = cons;
        b->count = n;
    }
    return (PyObject *)b;
}

/* Where to go on after a callback: a callback that consumed from the same ring itself
 * (a nested consume()) moved the position past ours, and those records are gone. */
static unsigned long lpy_caught_up(struct lpy_ring_map *rm, unsigned long cons)
{
    unsigned long now = __atomic_load_n(rm->consumer_pos, __ATOMIC_ACQUIRE);

    return now > cons ? now : cons;
}

/* consume_batches(ring, decode, short_decode, size, callback, batch, max_records) -> n
 *
 * The committed records of one RingMapping, each made a Python value by `decode` (given
 * a memoryview of the record in place, released after; None: bytes) — or by
 * `short_decode` when the record is shorter than `size` — and passed to `callback` as
 * lists of up to `batch` values; batch 0: with each value alone, no list. The consumer
 * position moves past each call's records before the call: the values are copies. A
 * raising callback stops the loop (its records stay consumed) and the exception comes
 * out of this call. */
static PyObject *lpy_consume_batches(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *decode, *short_decode, *callback, *list = NULL;
    lpy_mapping *m;
    struct lpy_ring_map *rm;
    Py_ssize_t size, batch, filled = 0;
    unsigned long long max_records, done = 0;
    unsigned long cons, prod;

    if (nargs != 7 || !lpy_is_mapping(args[0])) {
        PyErr_SetString(PyExc_TypeError, "consume_batches(ring, decode, short_decode, size, "
                                         "callback, batch, max_records)");
        return NULL;
    }
    m = (lpy_mapping *)args[0];
    rm = &m->map;
    decode = args[1] == Py_None ? NULL : args[1];
    short_decode = args[2] == Py_None ? decode : args[2];
    size = PyLong_AsSsize_t(args[3]);
    callback = args[4];
    batch = PyLong_AsSsize_t(args[5]);
    max_records = PyLong_AsUnsignedLongLong(args[6]);
    if (PyErr_Occurred())
        return NULL;
    if (batch < 0)
        batch = 0;
    cons = __atomic_load_n(rm->consumer_pos, __ATOMIC_ACQUIRE);
    prod = __atomic_load_n(rm->producer_pos, __ATOMIC_ACQUIRE);
    Py_INCREF((PyObject *)m);  /* the callback may drop the last other reference */
    while (done < max_records) {
        __u32 *hdr;
        __u32 len, rsize;
        PyObject *value;

        if (cons >= prod) {
            /* Records committed since we looked: take them too, as libbpf's loop does. */
            prod = __atomic_load_n(rm->producer_pos, __ATOMIC_ACQUIRE);
            if (cons >= prod)
                break;
        }
        hdr = (__u32 *)(rm->data + (cons & rm->mask));
        len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
        if (len & LPY_RB_BUSY)
            break;
        rsize = len & ~(LPY_RB_BUSY | LPY_RB_DISCARD);
        cons += (rsize + LPY_RB_HDR + 7) & ~7UL;
        if (len & LPY_RB_DISCARD)
            continue;
        if (decode) {
            PyObject *view = PyMemoryView_FromMemory((char *)hdr + LPY_RB_HDR, rsize, PyBUF_READ);

            if (!view)
                goto fail;
            value = PyObject_CallFunctionObjArgs((Py_ssize_t)rsize < size ? short_decode : decode,
                                                 view, NULL);
            /* A decoder that kept the view (or a traceback holding its frame) must not
             * read the ring later: release it, keeping the decoder's exception if any. */
            if (Py_REFCNT(view) > 1) {
                PyObject *type, *exc, *tb, *r;

                PyErr_Fetch(&type, &exc, &tb);
                r = PyObject_CallMethod(view, "release", NULL);
                if (!r) {
                    Py_XDECREF(type);
                    Py_XDECREF(exc);
                    Py_XDECREF(tb);
                    Py_XDECREF(value);
                    Py_DECREF(view);
                    goto fail;
                }
                Py_DECREF(r);
                PyErr_Restore(type, exc, tb);
            }
            Py_DECREF(view);
        } else {
            value = PyBytes_FromStringAndSize((char *)hdr + LPY_RB_HDR, rsize);
        }
        if (!value)
            goto fail;
        if (!batch) {
            PyObject *r;

            done++;
            __atomic_store_n(rm->consumer_pos, cons, __ATOMIC_RELEASE);
            r = PyObject_CallFunctionObjArgs(callback, value, NULL);
            Py_DECREF(value);
            if (!r) {
                Py_DECREF((PyObject *)m);
                return NULL;
            }
            Py_DECREF(r);
            cons = lpy_caught_up(rm, cons);
            continue;
        }
        if (!list) {
            list = PyList_New(0);
            if (!list) {
                Py_DECREF(value);
                goto fail;
            }
        }
        if (PyList_Append(list, value) < 0) {
            Py_DECREF(value);
            goto fail;
        }
        Py_DECREF(value);
        filled++;
        done++;
        if (filled == batch) {
            PyObject *r;

            __atomic_store_n(rm->consumer_pos, cons, __ATOMIC_RELEASE);
            r = PyObject_CallFunctionObjArgs(callback, list, NULL);
            Py_CLEAR(list);
            filled = 0;
            if (!r) {
                Py_DECREF((PyObject *)m);
                return NULL;
            }
            Py_DECREF(r);
            cons = lpy_caught_up(rm, cons);
        }
    }
    __atomic_store_n(rm->consumer_pos, cons, __ATOMIC_RELEASE);
    if (list) {
        PyObject *r = PyObject_CallFunctionObjArgs(callback, list, NULL);

        Py_DECREF(list);
        if (!r) {
            Py_DECREF((PyObject *)m);
            return NULL;
        }
        Py_DECREF(r);
    }
    Py_DECREF((PyObject *)m);
    return PyLong_FromUnsignedLongLong(done);

fail:
    /* The record that failed to decode is consumed; the values made so far are lost
     * with the exception, as a raising per-record callback loses its record. */
    __atomic_store_n(rm->consumer_pos, cons, __ATOMIC_RELEASE);
    Py_XDECREF(list);
    Py_DECREF((PyObject *)m);
    return NULL;
}

/* bind(batch_class, PhaseError): the Python subclass of Batch that borrow() makes. */
static PyObject *lpy_ringcore_bind_py(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *old_type = lpy_batch_type, *old_error = lpy_phase_error;

    if (nargs != 2 || !PyType_Check(args[0]) ||
        !PyType_IsSubtype((PyTypeObject *)args[0], (PyTypeObject *)lpy_batch_base) ||
        !PyType_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "bind(subclass of Batch, PhaseError)");
        return NULL;
    }
    Py_INCREF(args[0]);
    Py_INCREF(args[1]);
    lpy_batch_type = args[0];
    lpy_phase_error = args[1];
    Py_XDECREF(old_type);
    Py_XDECREF(old_error);
    Py_RETURN_NONE;
}

static PyMethodDef lpy_ringcore_methods[] = {
    {"borrow", (PyCFunction)(void (*)(void))lpy_borrow, METH_FASTCALL,
     "borrow(rings, max_records) -> Batch"},
    {"consume_batches", (PyCFunction)(void (*)(void))lpy_consume_batches, METH_FASTCALL,
     "consume_batches(ring, decode, short_decode, size, callback, batch, max_records) -> n"},
    {"bind", (PyCFunction)(void (*)(void))lpy_ringcore_bind_py, METH_FASTCALL,
     "bind(batch_class, PhaseError)"},
    {NULL, NULL, 0, NULL},
};

/* Put the types and functions above into the Python module named `module` (the one
 * importing). CFFI calls C without the GIL: take it here. 0 on success. */
static int lpy_ringcore_install(const char *module)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *mod = PyImport_AddModule(module); /* borrowed */
    PyMethodDef *def;
    int ret = -1;

    if (!mod)
        goto out;
    lpy_mapping_type = PyType_FromSpec(&lpy_mapping_spec);
    lpy_record_type = PyType_FromSpec(&lpy_record_spec);
    if (!lpy_mapping_type || !lpy_record_type)
        goto out;
    if (PyModule_AddObjectRef(mod, "RingMapping", lpy_mapping_type) < 0 ||
        PyModule_AddObjectRef(mod, "Record", lpy_record_type) < 0)
        goto out;
    {
        lpy_batch_base = PyType_FromSpec(&lpy_borrowed_spec);

        if (!lpy_batch_base || PyModule_AddObjectRef(mod, "Batch", lpy_batch_base) < 0)
            goto out;
    }
    for (def = lpy_ringcore_methods; def->ml_name; def++) {
        PyObject *func = PyCFunction_NewEx(def, mod, NULL);

        if (!func || PyObject_SetAttrString(mod, def->ml_name, func) < 0) {
            Py_XDECREF(func);
            goto out;
        }
        Py_DECREF(func);
    }
    ret = 0;
out:
    if (ret < 0)
        PyErr_Clear(); /* the caller raises its own ImportError */
    PyGILState_Release(gil);
    return ret;
}
