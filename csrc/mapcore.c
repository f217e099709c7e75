/* MapCore: the C base type of the maps whose single-entry operations fit C.
 *
 * Why: a lookup of a small hash costs the kernel under a microsecond, and going through
 * CFFI (argument conversion, a cdata buffer, its unpacking, then the Python codec) adds
 * half as much again. Here m[k], m.get(k), k in m, m[k] = v, m.update(k, v[, flags]) and
 * del m[k] are each one C call: the key is encoded straight from the Python value into a
 * stack buffer, the syscall runs with the GIL held (it is short, and holding the GIL
 * keeps the fd from being closed under the call), and the value is decoded into the
 * engine's own Python types: ints, bytes, enum members and the generated struct classes.
 *
 * What C does is only ever the common case, decided before the syscall from the value's
 * exact type. Everything else — another type, a value out of range, a dict, a closed map,
 * a failed syscall (but a missing key on get/in) — is handed to the general Python
 * method of the same name, with the same arguments, so the Python side stays the one
 * definition of results and errors. A failed update or delete is retried there: it left
 * the map as it was, and the retry raises the library's exception for it.
 *
 * The state read here is owned here: the fd, and the key's and value's codec plans, are
 * given by the Python side through _core_bind() (plans: see mc_plan_build) and dropped
 * by _core_close(). This file knows no Python attribute name. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <bpf/bpf.h>

/* Kinds of a plan node (the Python plan names them as strings). */
#define LPY_P_INT 1    /* ("int", size, signed): an int of 1, 2, 4 or 8 bytes */
#define LPY_P_ENUM 2   /* ("enum", size, signed, by_value): an int, decoded to a member */
#define LPY_P_FLOAT 3  /* ("float", size): a float or double */
#define LPY_P_BYTES 4  /* ("bytes", size): exactly size bytes, in and out */
#define LPY_P_CHARS 5  /* ("chars", size, text): a char array; text drops trailing NULs */
#define LPY_P_STRUCT 6 /* ("struct", size, cls, ((offset, plan), ...)): a named tuple */
#define LPY_P_ARRAY 7  /* ("array", size, n, plan): a list of n elements */

/* Deeper plans than this are not taken (the Python codecs stop inlining there too). */
#define LPY_PLAN_DEPTH 16
/* Keys and values up to this size use a stack buffer; larger ones a heap one. */
#define LPY_STACK_BYTES 512

/* What an encoder did. */
#define LPY_ENC_OK 1
#define LPY_ENC_GENERAL 0 /* not for C: the general path decides */
#define LPY_ENC_ERROR (-1)

struct mc_plan {
    int kind;
    int is_signed;  /* INT, ENUM */
    int text;       /* CHARS */
    Py_ssize_t size;
    PyObject *obj;  /* STRUCT: the class; ENUM: the value -> member dict */
    Py_ssize_t nfields;
    Py_ssize_t *offsets;
    struct mc_plan *fields;
};

typedef struct {
    PyObject_HEAD
    int fd;                 /* -1: closed, or not bound: every call is general */
    struct mc_plan key;
    struct mc_plan value;  /* of one CPU's value on a per-CPU map */
    Py_ssize_t ncpus;       /* 0: not per-CPU */
    Py_ssize_t slot;        /* per-CPU: one CPU's value, rounded up to 8 bytes */
    PyObject *percpu;       /* per-CPU: the class of the decoded list */
} MapCore;

/* The general Python methods, bound once by libbpf_py/_lowlevel/mapcore.py. */
enum { LPY_G_GETITEM, LPY_G_SETITEM, LPY_G_DELITEM, LPY_G_GET, LPY_G_CONTAINS, LPY_G_UPDATE,
       LPY_G_COUNT };
static PyObject *mc_general[LPY_G_COUNT];
/* Operations C completed itself: a test checks the fast path is taken. */
static unsigned long long mc_core_ops;
/* From Python 3.14 a tuple caches its hash in a field that tp_alloc leaves zero, not
 * "unset": instances are then made by tuple.__new__, which sets it. */
static int mc_tuple_new_needed;
static PyObject *mc_tuple_new;

/* -- plans ------------------------------------------------------------------------- */

static void mc_plan_clear(struct mc_plan *p)
{
    Py_ssize_t i;

    if (p->fields) {
        for (i = 0; i < (p->kind == LPY_P_ARRAY ? 1 : p->nfields); i++)
            mc_plan_clear(&p->fields[i]);
        PyMem_Free(p->fields);
    }
    PyMem_Free(p->offsets);
    Py_CLEAR(p->obj);
    memset(p, 0, sizeof(*p));
}

static int mc_plan_visit(struct mc_plan *p, visitproc visit, void *arg)
{
    Py_ssize_t i;

    Py_VISIT(p->obj);
    for (i = 0; p->fields && i < (p->kind == LPY_P_ARRAY ? 1 : p->nfields); i++) {
        int ret = mc_plan_visit(&p->fields[i], visit, arg);
        if (ret)
            return ret;
    }
    return 0;
}

static int mc_plan_fail(const char *why)
{
    PyErr_Format(PyExc_ValueError, "libbpf_py: bad codec plan: %s", why);
    return -1;
}

static int mc_is_word(Py_ssize_t size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

/* Build *p from the Python plan `src` (the tuples above). 0, or -1 with an exception. */
static int mc_plan_build(struct mc_plan *p, PyObject *src, int depth)
{
    PyObject *kind;
    Py_ssize_t n, i;

    memset(p, 0, sizeof(*p));
    if (depth > LPY_PLAN_DEPTH)
        return mc_plan_fail("nested too deep");
    if (!PyTuple_Check(src) || (n = PyTuple_Size(src)) < 2)
        return mc_plan_fail("a plan is a tuple (kind, size, ...)");
    kind = PyTuple_GetItem(src, 0);
    p->size = PyLong_AsSsize_t(PyTuple_GetItem(src, 1));
    if (p->size < 0 || PyErr_Occurred())
        return PyErr_Occurred() ? -1 : mc_plan_fail("negative size");
    if (!PyUnicode_Check(kind))
        return mc_plan_fail("the kind is a str");
    if (!PyUnicode_CompareWithASCIIString(kind, "int")
            || !PyUnicode_CompareWithASCIIString(kind, "enum")) {
        int is_enum = !PyUnicode_CompareWithASCIIString(kind, "enum");

        if (n != (is_enum ? 4 : 3) || !mc_is_word(p->size))
            return mc_plan_fail("(\"int\", 1|2|4|8, signed) or (\"enum\", ..., by_value)");
        p->kind = is_enum ? LPY_P_ENUM : LPY_P_INT;
        p->is_signed = PyObject_IsTrue(PyTuple_GetItem(src, 2));
        if (p->is_signed < 0)
            return -1;
        if (is_enum) {
            p->obj = PyTuple_GetItem(src, 3);
            if (!PyDict_Check(p->obj)) {
                p->obj = NULL;
                return mc_plan_fail("an enum's by_value is a dict");
            }
            Py_INCREF(p->obj);
        }
        return 0;
    }
    if (!PyUnicode_CompareWithASCIIString(kind, "float")) {
        if (n != 2 || (p->size != 4 && p->size != 8))
            return mc_plan_fail("(\"float\", 4|8)");
        p->kind = LPY_P_FLOAT;
        return 0;
    }
    if (!PyUnicode_CompareWithASCIIString(kind, "bytes")) {
        if (n != 2)
            return mc_plan_fail("(\"bytes\", size)");
        p->kind = LPY_P_BYTES;
        return 0;
    }
    if (!PyUnicode_CompareWithASCIIString(kind, "chars")) {
        if (n != 3)
            return mc_plan_fail("(\"chars\", size, text)");
        p->kind = LPY_P_CHARS;
        p->text = PyObject_IsTrue(PyTuple_GetItem(src, 2));
        return p->text < 0 ? -1 : 0;
    }
    if (!PyUnicode_CompareWithASCIIString(kind, "struct")) {
        PyObject *cls, *fields;

        if (n != 4)
            return mc_plan_fail("(\"struct\", size, cls, fields)");
        cls = PyTuple_GetItem(src, 2);
        fields = PyTuple_GetItem(src, 3);
        if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, &PyTuple_Type))
            return mc_plan_fail("a struct's class is a tuple subclass");
        if (!PyTuple_Check(fields))
            return mc_plan_fail("a struct's fields are a tuple");
        p->kind = LPY_P_STRUCT;
        Py_INCREF(cls);
        p->obj = cls;
        p->nfields = PyTuple_Size(fields);
        p->offsets = PyMem_Calloc((size_t)p->nfields + 1, sizeof(*p->offsets));
        p->fields = PyMem_Calloc((size_t)p->nfields + 1, sizeof(*p->fields));
        if (!p->offsets || !p->fields) {
            PyErr_NoMemory();
            return -1;
        }
        for (i = 0; i < p->nfields; i++) {
            PyObject *f = PyTuple_GetItem(fields, i);
            Py_ssize_t off;

            if (!PyTuple_Check(f) || PyTuple_Size(f) != 2)
                return mc_plan_fail("a struct field is (offset, plan)");
            off = PyLong_AsSsize_t(PyTuple_GetItem(f, 0));
            if (off == -1 && PyErr_Occurred())
                return -1;
            if (mc_plan_build(&p->fields[i], PyTuple_GetItem(f, 1), depth + 1) < 0)
                return -1;
            if (off < 0 || off + p->fields[i].size > p->size)
                return mc_plan_fail("a field lies outside its struct");
            p->offsets[i] = off;
        }
        return 0;
    }
    if (!PyUnicode_CompareWithASCIIString(kind, "array")) {
        if (n != 4)
            return mc_plan_fail("(\"array\", size, n, plan)");
        p->kind = LPY_P_ARRAY;
        p->nfields = PyLong_AsSsize_t(PyTuple_GetItem(src, 2));
        if (p->nfields < 0)
            return PyErr_Occurred() ? -1 : mc_plan_fail("a negative element count");
        p->fields = PyMem_Calloc(1, sizeof(*p->fields));
        if (!p->fields) {
            PyErr_NoMemory();
            return -1;
        }
        if (mc_plan_build(&p->fields[0], PyTuple_GetItem(src, 3), depth + 1) < 0)
            return -1;
        if (p->fields[0].size * p->nfields != p->size)
            return mc_plan_fail("an array's size is not its elements'");
        return 0;
    }
    return mc_plan_fail("unknown kind");
}

/* -- decoding ---------------------------------------------------------------------- */

static uint64_t mc_load_u(const unsigned char *at, Py_ssize_t size)
{
    /* BPF maps hold the host's byte order: read the C type of that size. */
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;

    switch (size) {
    case 1: memcpy(&u8, at, 1); return u8;
    case 2: memcpy(&u16, at, 2); return u16;
    case 4: memcpy(&u32, at, 4); return u32;
    default: memcpy(&u64, at, 8); return u64;
    }
}

static int64_t mc_load_s(const unsigned char *at, Py_ssize_t size)
{
    uint64_t raw = mc_load_u(at, size);
    int shift = (int)(64 - size * 8);

    return shift ? (int64_t)(raw << shift) >> shift : (int64_t)raw;
}

static PyObject *mc_new_instance(PyObject *cls, Py_ssize_t n)
{
    allocfunc alloc;

    if (mc_tuple_new_needed)
        return NULL;  /* the caller builds a tuple and calls tuple.__new__ */
    alloc = (allocfunc)PyType_GetSlot((PyTypeObject *)cls, Py_tp_alloc);
    return alloc((PyTypeObject *)cls, n);
}

static PyObject *mc_decode(const struct mc_plan *p, const unsigned char *at)
{
    switch (p->kind) {
    case LPY_P_INT:
        return p->is_signed ? PyLong_FromLongLong(mc_load_s(at, p->size))
                            : PyLong_FromUnsignedLongLong(mc_load_u(at, p->size));
    case LPY_P_ENUM: {
        PyObject *v = p->is_signed ? PyLong_FromLongLong(mc_load_s(at, p->size))
                                   : PyLong_FromUnsignedLongLong(mc_load_u(at, p->size));
        PyObject *member;

        if (!v)
            return NULL;
        member = PyDict_GetItemWithError(p->obj, v);  /* borrowed */
        if (member) {
            Py_DECREF(v);
            Py_INCREF(member);
            return member;
        }
        if (PyErr_Occurred()) {
            Py_DECREF(v);
            return NULL;
        }
        return v;  /* a value no member has stays an int, as in EnumCodec */
    }
    case LPY_P_FLOAT:
        if (p->size == 4) {
            float f;

            memcpy(&f, at, 4);
            return PyFloat_FromDouble(f);
        } else {
            double d;

            memcpy(&d, at, 8);
            return PyFloat_FromDouble(d);
        }
    case LPY_P_BYTES:
        return PyBytes_FromStringAndSize((const char *)at, p->size);
    case LPY_P_CHARS: {
        Py_ssize_t len = p->size;

        if (p->text)
            while (len > 0 && at[len - 1] == 0)
                len--;
        return PyBytes_FromStringAndSize((const char *)at, len);
    }
    case LPY_P_STRUCT: {
        PyObject *obj = mc_new_instance(p->obj, p->nfields), *items = NULL, *item;
        Py_ssize_t i;

        if (!obj) {
            if (PyErr_Occurred())
                return NULL;
            items = PyTuple_New(p->nfields);
            if (!items)
                return NULL;
        }
        for (i = 0; i < p->nfields; i++) {
            item = mc_decode(&p->fields[i], at + p->offsets[i]);
            if (!item) {
                Py_XDECREF(obj);
                Py_XDECREF(items);
                return NULL;
            }
            /* Only this function holds the new tuple: setting its items is safe. */
            PyTuple_SetItem(obj ? obj : items, i, item);
        }
        if (items) {
            obj = PyObject_CallFunctionObjArgs(mc_tuple_new, p->obj, items, NULL);
            Py_DECREF(items);
        }
        return obj;
    }
    case LPY_P_ARRAY: {
        PyObject *list = PyList_New(p->nfields), *item;
        Py_ssize_t i, step = p->fields[0].size;

        if (!list)
            return NULL;
        for (i = 0; i < p->nfields; i++) {
            item = mc_decode(&p->fields[0], at + i * step);
            if (!item) {
                Py_DECREF(list);
                return NULL;
            }
            PyList_SetItem(list, i, item);  /* steals item */
        }
        return list;
    }
    }
    PyErr_SetString(PyExc_SystemError, "libbpf_py: unbound codec plan");
    return NULL;
}

/* -- encoding ---------------------------------------------------------------------- */

static void mc_store_u(unsigned char *at, Py_ssize_t size, uint64_t v)
{
    uint8_t u8 = (uint8_t)v;
    uint16_t u16 = (uint16_t)v;
    uint32_t u32 = (uint32_t)v;

    switch (size) {
    case 1: memcpy(at, &u8, 1); break;
    case 2: memcpy(at, &u16, 2); break;
    case 4: memcpy(at, &u32, 4); break;
    default: memcpy(at, &v, 8); break;
    }
}

/* An exact int (or, for enums, any int but bool) in the range of the plan's integer;
 * anything else, and ints out of range, are the general path's to refuse. */
static int mc_encode_int(const struct mc_plan *p, PyObject *value, unsigned char *at)
{
    if (!(PyLong_CheckExact(value) || (p->kind == LPY_P_ENUM && PyLong_Check(value)
                                       && !PyBool_Check(value))))
        return LPY_ENC_GENERAL;
    if (p->is_signed) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(value, &overflow);

        if (v == -1 && PyErr_Occurred())
            return LPY_ENC_ERROR;
        if (overflow)
            return LPY_ENC_GENERAL;
        if (p->size < 8) {
            long long lim = 1LL << (p->size * 8 - 1);

            if (v < -lim || v >= lim)
                return LPY_ENC_GENERAL;
        }
        mc_store_u(at, p->size, (uint64_t)v);
    } else {
        unsigned long long v = PyLong_AsUnsignedLongLong(value);

        if (v == (unsigned long long)-1 && PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError))
                return LPY_ENC_ERROR;
            PyErr_Clear();  /* negative, or above 64 bits */
            return LPY_ENC_GENERAL;
        }
        if (p->size < 8 && (v >> (p->size * 8)) != 0)
            return LPY_ENC_GENERAL;
        mc_store_u(at, p->size, v);
    }
    return LPY_ENC_OK;
}

static int mc_exact_bytes(const struct mc_plan *p, PyObject *value, unsigned char *at)
{
    if (!PyBytes_CheckExact(value) || PyBytes_Size(value) != p->size)
        return 0;
    memcpy(at, PyBytes_AsString(value), (size_t)p->size);
    return 1;
}

/* Encode `value` by plan p into at[0..p->size), which the caller zeroed. `top`: the
 * value is a whole key or value, where the codecs take raw bytes of the exact size
 * for every kind; inside a struct only enum, struct and byte members take them (an
 * integer or float member given bytes is an error the general path reports). */
static int mc_encode(const struct mc_plan *p, PyObject *value, unsigned char *at, int top)
{
    Py_ssize_t i, len;

    if (top && mc_exact_bytes(p, value, at))
        return LPY_ENC_OK;
    switch (p->kind) {
    case LPY_P_ENUM:
        if (mc_exact_bytes(p, value, at))
            return LPY_ENC_OK;
        return mc_encode_int(p, value, at);
    case LPY_P_INT:
        return mc_encode_int(p, value, at);
    case LPY_P_FLOAT: {
        double d;

        if (!PyFloat_CheckExact(value))
            return LPY_ENC_GENERAL;
        d = PyFloat_AsDouble(value);
        if (p->size == 4) {
            float f = (float)d;

            if (isinf(f) && !isinf(d))
                return LPY_ENC_GENERAL;  /* too large for a float: struct says so */
            memcpy(at, &f, 4);
        } else {
            memcpy(at, &d, 8);
        }
        return LPY_ENC_OK;
    }
    case LPY_P_BYTES:
        return mc_exact_bytes(p, value, at) ? LPY_ENC_OK : LPY_ENC_GENERAL;
    case LPY_P_CHARS:
        if (!PyBytes_CheckExact(value) || (len = PyBytes_Size(value)) > p->size)
            return LPY_ENC_GENERAL;
        memcpy(at, PyBytes_AsString(value), (size_t)len);  /* the rest stays NUL */
        return LPY_ENC_OK;
    case LPY_P_STRUCT:
        if (mc_exact_bytes(p, value, at))
            return LPY_ENC_OK;
        /* The struct's own class, or a plain tuple of its fields; anything else (dicts,
         * lists, other classes) is the general path's to read. */
        if (!(Py_TYPE(value) == (PyTypeObject *)p->obj || PyTuple_CheckExact(value))
                || PyTuple_Size(value) != p->nfields)
            return LPY_ENC_GENERAL;
        for (i = 0; i < p->nfields; i++) {
            int ret = mc_encode(&p->fields[i], PyTuple_GetItem(value, i),
                                 at + p->offsets[i], 0);
            if (ret != LPY_ENC_OK)
                return ret;
        }
        return LPY_ENC_OK;
    case LPY_P_ARRAY: {
        int is_list = PyList_CheckExact(value);

        if (mc_exact_bytes(p, value, at))
            return LPY_ENC_OK;
        /* A list or tuple of exactly n elements. Only exact types reach the element
         * encoders, which run no Python code: the list cannot change under them. */
        if (!(is_list || PyTuple_CheckExact(value)))
            return LPY_ENC_GENERAL;
        len = is_list ? PyList_Size(value) : PyTuple_Size(value);
        if (len != p->nfields)
            return LPY_ENC_GENERAL;
        for (i = 0; i < len; i++) {
            PyObject *item = is_list ? PyList_GetItem(value, i) : PyTuple_GetItem(value, i);
            int ret = mc_encode(&p->fields[0], item, at + i * p->fields[0].size, 0);

            if (ret != LPY_ENC_OK)
                return ret;
        }
        return LPY_ENC_OK;
    }
    }
    return LPY_ENC_GENERAL;
}

/* A per-CPU value: one value for every CPU, or a list (a PerCpu) of one per CPU, as
 * PerCpuCodec reads it: a tuple is one per CPU too except for struct and array values
 * (it is one value then), and a list for array values is per CPU only when each item
 * is a list or tuple. */
static int mc_encode_value(MapCore *self, PyObject *value, unsigned char *at)
{
    Py_ssize_t cpu;
    int ret;

    if (!self->ncpus)
        return mc_encode(&self->value, value, at, 1);
    if (PyList_Check(value) || (PyTuple_CheckExact(value) && self->value.kind != LPY_P_STRUCT
                                && self->value.kind != LPY_P_ARRAY)) {
        int is_list = PyList_Check(value);
        Py_ssize_t n = is_list ? PyList_Size(value) : PyTuple_Size(value);

        if (n != self->ncpus)
            return LPY_ENC_GENERAL;
        for (cpu = 0; cpu < n; cpu++) {
            PyObject *item = is_list ? PyList_GetItem(value, cpu) : PyTuple_GetItem(value, cpu);

            if (self->value.kind == LPY_P_ARRAY && !PyList_Check(item) && !PyTuple_Check(item))
                return LPY_ENC_GENERAL;  /* then the list is one array value */
            /* The list may change under a finalizer run by the encoder: hold the item. */
            Py_INCREF(item);
            ret = mc_encode(&self->value, item, at + cpu * self->slot, 1);
            Py_DECREF(item);
            if (ret != LPY_ENC_OK)
                return ret;
            if (is_list && PyList_Size(value) != n)
                return LPY_ENC_GENERAL;
        }
        return LPY_ENC_OK;
    }
    if (PyBytes_CheckExact(value))
        return LPY_ENC_GENERAL;  /* whole or one CPU's raw bytes: the general path */
    ret = mc_encode(&self->value, value, at, 1);
    if (ret != LPY_ENC_OK)
        return ret;
    for (cpu = 1; cpu < self->ncpus; cpu++)
        memcpy(at + cpu * self->slot, at, (size_t)self->value.size);
    return LPY_ENC_OK;
}

static PyObject *mc_decode_value(MapCore *self, const unsigned char *at)
{
    PyObject *list, *item;
    allocfunc alloc;
    Py_ssize_t cpu;

    if (!self->ncpus)
        return mc_decode(&self->value, at);
    /* A PerCpu is a list subclass: allocated as list.__new__ does, then filled. */
    alloc = (allocfunc)PyType_GetSlot((PyTypeObject *)self->percpu, Py_tp_alloc);
    list = alloc((PyTypeObject *)self->percpu, 0);
    if (!list)
        return NULL;
    for (cpu = 0; cpu < self->ncpus; cpu++) {
        item = mc_decode(&self->value, at + cpu * self->slot);
        if (!item || PyList_Append(list, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(item);
    }
    return list;
}

/* -- buffers ----------------------------------------------------------------------- */

struct mc_bufs {
    unsigned char *key, *value;
    unsigned char stack[LPY_STACK_BYTES];
    void *heap;
};

static size_t mc_value_bytes(const MapCore *self)
{
    return (size_t)(self->ncpus ? self->slot * self->ncpus : self->value.size);
}

/* Zeroed buffers for a key and a value of this map. 0, or -1 with MemoryError. */
static int mc_bufs_get(MapCore *self, struct mc_bufs *b)
{
    size_t ks = ((size_t)self->key.size + 7) & ~(size_t)7, vs = mc_value_bytes(self);

    b->heap = NULL;
    if (ks + vs <= sizeof(b->stack)) {
        b->key = b->stack;
        memset(b->stack, 0, ks + vs);
    } else {
        b->heap = PyMem_Calloc(1, ks + vs);
        if (!b->heap) {
            PyErr_NoMemory();
            return -1;
        }
        b->key = b->heap;
    }
    b->value = b->key + ks;
    return 0;
}

static void mc_bufs_put(struct mc_bufs *b)
{
    PyMem_Free(b->heap);
}

/* -- the operations ---------------------------------------------------------------- */

/* What a lookup did. */
#define LPY_LK_FOUND 1
#define LPY_LK_MISSING 2
#define LPY_LK_GENERAL 0
#define LPY_LK_ERROR (-1)

static int mc_lookup(MapCore *self, PyObject *key, PyObject **out)
{
    struct mc_bufs b;
    int ret;

    if (self->fd < 0)
        return LPY_LK_GENERAL;
    if (mc_bufs_get(self, &b) < 0)
        return LPY_LK_ERROR;
    ret = mc_encode(&self->key, key, b.key, 1);
    if (ret != LPY_ENC_OK) {
        mc_bufs_put(&b);
        return ret == LPY_ENC_ERROR ? LPY_LK_ERROR : LPY_LK_GENERAL;
    }
    if (bpf_map_lookup_elem(self->fd, b.key, b.value) < 0) {
        mc_bufs_put(&b);
        return errno == ENOENT ? LPY_LK_MISSING : LPY_LK_GENERAL;
    }
    *out = mc_decode_value(self, b.value);
    mc_bufs_put(&b);
    if (!*out)
        return LPY_LK_ERROR;
    mc_core_ops++;
    return LPY_LK_FOUND;
}

static PyObject *mc_call_general(int which, PyObject *self, PyObject *const *args,
                                  Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *posargs, *kwargs = NULL, *result = NULL;
    Py_ssize_t i, nkw = kwnames ? PyTuple_Size(kwnames) : 0;

    if (!mc_general[which]) {
        PyErr_SetString(PyExc_SystemError, "libbpf_py: MapCore's general methods are unbound");
        return NULL;
    }
    posargs = PyTuple_New(nargs + 1);
    if (!posargs)
        return NULL;
    Py_INCREF(self);
    PyTuple_SetItem(posargs, 0, self);
    for (i = 0; i < nargs; i++) {
        Py_INCREF(args[i]);
        PyTuple_SetItem(posargs, i + 1, args[i]);
    }
    if (nkw) {
        kwargs = PyDict_New();
        if (!kwargs)
            goto out;
        for (i = 0; i < nkw; i++)
            if (PyDict_SetItem(kwargs, PyTuple_GetItem(kwnames, i), args[nargs + i]) < 0)
                goto out;
    }
    result = PyObject_Call(mc_general[which], posargs, kwargs);
out:
    Py_DECREF(posargs);
    Py_XDECREF(kwargs);
    return result;
}

static PyObject *core_getitem(PyObject *op, PyObject *key)
{
    PyObject *value = NULL;

    switch (mc_lookup((MapCore *)op, key, &value)) {
    case LPY_LK_FOUND:
        return value;
    case LPY_LK_ERROR:
        return NULL;
    }
    /* Missing keys too: the general method raises its KeyNotFound. */
    return mc_call_general(LPY_G_GETITEM, op, &key, 1, NULL);
}

static int core_contains(PyObject *op, PyObject *key)
{
    PyObject *value = NULL, *res;
    int ret;

    switch (mc_lookup((MapCore *)op, key, &value)) {
    case LPY_LK_FOUND:
        Py_DECREF(value);
        return 1;
    case LPY_LK_MISSING:
        mc_core_ops++;
        return 0;
    case LPY_LK_ERROR:
        return -1;
    }
    res = mc_call_general(LPY_G_CONTAINS, op, &key, 1, NULL);
    if (!res)
        return -1;
    ret = PyObject_IsTrue(res);
    Py_DECREF(res);
    return ret;
}

static PyObject *core_get(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                          PyObject *kwnames)
{
    PyObject *value = NULL;

    if (!kwnames && (nargs == 1 || nargs == 2)) {
        switch (mc_lookup((MapCore *)op, args[0], &value)) {
        case LPY_LK_FOUND:
            return value;
        case LPY_LK_MISSING:
            value = nargs == 2 ? args[1] : Py_None;
            Py_INCREF(value);
            mc_core_ops++;
            return value;
        case LPY_LK_ERROR:
            return NULL;
        }
    }
    return mc_call_general(LPY_G_GET, op, args, nargs, kwnames);
}

/* 1: updated; 0: the general path must do it (nothing was written). */
static int mc_update(MapCore *self, PyObject *key, PyObject *value, uint64_t flags)
{
    struct mc_bufs b;
    int ret;

    if (self->fd < 0)
        return 0;
    if (mc_bufs_get(self, &b) < 0)
        return -1;
    ret = mc_encode(&self->key, key, b.key, 1);
    if (ret == LPY_ENC_OK)
        ret = mc_encode_value(self, value, b.value);
    if (ret == LPY_ENC_OK)
        ret = bpf_map_update_elem(self->fd, b.key, b.value, flags) < 0 ? LPY_ENC_GENERAL : 1;
    mc_bufs_put(&b);
    if (ret == 1)
        mc_core_ops++;
    return ret;
}

static int mc_delete(MapCore *self, PyObject *key)
{
    struct mc_bufs b;
    int ret;

    if (self->fd < 0)
        return 0;
    if (mc_bufs_get(self, &b) < 0)
        return -1;
    ret = mc_encode(&self->key, key, b.key, 1);
    if (ret == LPY_ENC_OK)
        ret = bpf_map_delete_elem(self->fd, b.key) < 0 ? LPY_ENC_GENERAL : 1;
    mc_bufs_put(&b);
    if (ret == 1)
        mc_core_ops++;
    return ret;
}

static int core_ass_subscript(PyObject *op, PyObject *key, PyObject *value)
{
    PyObject *args[2] = {key, value}, *res;
    int ret = value ? mc_update((MapCore *)op, key, value, 0) : mc_delete((MapCore *)op, key);

    if (ret != 0)
        return ret < 0 ? -1 : 0;
    res = value ? mc_call_general(LPY_G_SETITEM, op, args, 2, NULL)
                : mc_call_general(LPY_G_DELITEM, op, args, 1, NULL);
    if (!res)
        return -1;
    Py_DECREF(res);
    return 0;
}

/* update(key, value[, flags]) here; cpu= and anything unusual in the Python method. */
static PyObject *core_update(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames)
{
    unsigned long long flags = 0;
    int ret;

    if (!kwnames && (nargs == 2 || nargs == 3)) {
        if (nargs == 3) {
            if (!PyLong_Check(args[2]))
                goto general;
            flags = PyLong_AsUnsignedLongLong(args[2]);
            if (flags == (unsigned long long)-1 && PyErr_Occurred()) {
                PyErr_Clear();
                goto general;
            }
        }
        ret = mc_update((MapCore *)op, args[0], args[1], flags);
        if (ret < 0)
            return NULL;
        if (ret > 0)
            Py_RETURN_NONE;
    }
general:
    return mc_call_general(LPY_G_UPDATE, op, args, nargs, kwnames);
}

/* _core_bind(fd, key_plan, value_plan, ncpus, percpu_class): take the fast path on fd.
 * ncpus 0 is a map of one value per key; otherwise value_plan is one CPU's value, and
 * lookups give instances of percpu_class (a list subclass). */
static PyObject *core_bind(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    MapCore *self = (MapCore *)op;
    struct mc_plan key, value;
    Py_ssize_t ncpus;
    long fd;

    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError,
                        "_core_bind(fd, key_plan, value_plan, ncpus, percpu_class)");
        return NULL;
    }
    fd = PyLong_AsLong(args[0]);
    ncpus = PyLong_AsSsize_t(args[3]);
    if (PyErr_Occurred())
        return NULL;
    if (fd < 0 || fd > INT32_MAX || ncpus < 0 || (ncpus && !PyType_Check(args[4]))) {
        PyErr_SetString(PyExc_ValueError, "_core_bind: bad fd, ncpus or per-CPU class");
        return NULL;
    }
    if (mc_plan_build(&key, args[1], 0) < 0) {
        mc_plan_clear(&key);
        return NULL;
    }
    if (mc_plan_build(&value, args[2], 0) < 0) {
        mc_plan_clear(&key);
        mc_plan_clear(&value);
        return NULL;
    }
    mc_plan_clear(&self->key);
    mc_plan_clear(&self->value);
    self->key = key;
    self->value = value;
    self->ncpus = ncpus;
    self->slot = (value.size + 7) & ~(Py_ssize_t)7;
    Py_CLEAR(self->percpu);
    if (ncpus) {
        Py_INCREF(args[4]);
        self->percpu = args[4];
    }
    self->fd = (int)fd;
    Py_RETURN_NONE;
}

/* _core_close(): every later call goes to the general methods (which raise PhaseError
 * once the map is closed). The plans go: nothing reads them any more. */
static PyObject *core_close(PyObject *op, PyObject *unused)
{
    MapCore *self = (MapCore *)op;

    (void)unused;
    self->fd = -1;
    mc_plan_clear(&self->key);
    mc_plan_clear(&self->value);
    Py_CLEAR(self->percpu);
    Py_RETURN_NONE;
}

static PyObject *core_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
    MapCore *self = (MapCore *)alloc(type, 0);

    (void)args;
    (void)kwargs;
    if (self)
        self->fd = -1;
    return (PyObject *)self;
}

static int core_traverse(PyObject *op, visitproc visit, void *arg)
{
    MapCore *self = (MapCore *)op;
    int ret;

    Py_VISIT(Py_TYPE(op));  /* a heap type's instances keep their type alive */
    Py_VISIT(self->percpu);
    ret = mc_plan_visit(&self->key, visit, arg);
    return ret ? ret : mc_plan_visit(&self->value, visit, arg);
}

static int core_clear(PyObject *op)
{
    MapCore *self = (MapCore *)op;

    self->fd = -1;
    mc_plan_clear(&self->key);
    mc_plan_clear(&self->value);
    Py_CLEAR(self->percpu);
    return 0;
}

static void core_dealloc(PyObject *op)
{
    PyTypeObject *type = Py_TYPE(op);
    freefunc tp_free = (freefunc)PyType_GetSlot(type, Py_tp_free);

    PyObject_GC_UnTrack(op);
    core_clear(op);
    tp_free(op);
    Py_DECREF(type);
}

typedef PyObject *(*lpy_fastcall_kw_fn)(PyObject *, PyObject *const *, Py_ssize_t, PyObject *);
typedef PyObject *(*lpy_fastcall_fn)(PyObject *, PyObject *const *, Py_ssize_t);

static PyMethodDef core_methods[] = {
    {"get", (PyCFunction)(void (*)(void))(lpy_fastcall_kw_fn)core_get,
     METH_FASTCALL | METH_KEYWORDS,
     "get($self, /, key, default=None)\n--\n\n"
     "Return the value for ``key``, or ``default`` if the map has none."},
    {"update", (PyCFunction)(void (*)(void))(lpy_fastcall_kw_fn)core_update,
     METH_FASTCALL | METH_KEYWORDS,
     "update($self, /, key, value, flags=0, *, cpu=None)\n--\n\n"
     "Set ``key`` to ``value``; ``flags`` is an :class:`UpdateFlag` combination.\n\n"
     "``cpu`` writes one CPU's slot of a per-CPU map (see :meth:`Map.update`)."},
    {"_core_bind", (PyCFunction)(void (*)(void))(lpy_fastcall_fn)core_bind, METH_FASTCALL,
     "_core_bind(fd, key_plan, value_plan, ncpus, percpu_class): take the C path on fd"},
    {"_core_close", core_close, METH_NOARGS,
     "_core_close(): send every later call to the general methods"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot core_slots[] = {
    {Py_tp_doc, (void *)"The C half of a map whose single-entry operations fit C."},
    {Py_tp_new, (void *)core_new},
    {Py_tp_dealloc, (void *)core_dealloc},
    {Py_tp_traverse, (void *)core_traverse},
    {Py_tp_clear, (void *)core_clear},
    {Py_tp_methods, core_methods},
    {Py_mp_subscript, (void *)core_getitem},
    {Py_mp_ass_subscript, (void *)core_ass_subscript},
    {Py_sq_contains, (void *)core_contains},
    {0, NULL},
};

static PyType_Spec core_spec = {
    .name = "libbpf_py._lowlevel.mapcore.MapCore",
    .basicsize = (int)sizeof(MapCore),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = core_slots,
};

/* bind_general(getitem, setitem, delitem, get, contains, update): the Python methods
 * every call C does not finish goes to, called as method(self, *args, **kwargs). */
static PyObject *lpy_core_bind_general(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    int i;

    (void)mod;
    if (nargs != LPY_G_COUNT) {
        PyErr_SetString(PyExc_TypeError,
                        "bind_general(getitem, setitem, delitem, get, contains, update)");
        return NULL;
    }
    for (i = 0; i < LPY_G_COUNT; i++)
        if (!PyCallable_Check(args[i])) {
            PyErr_SetString(PyExc_TypeError, "bind_general: every method must be callable");
            return NULL;
        }
    for (i = 0; i < LPY_G_COUNT; i++) {
        Py_INCREF(args[i]);
        Py_XDECREF(mc_general[i]);
        mc_general[i] = args[i];
    }
    Py_RETURN_NONE;
}

static PyObject *mc_core_ops_py(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    return PyLong_FromUnsignedLongLong(mc_core_ops);
}

/* decode(plan, data) -> the value: a plan run on bytes, for tests to compare with the
 * Python codec it came from. */
static PyObject *lpy_core_decode(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    struct mc_plan plan;
    PyObject *result = NULL;
    char *data;
    Py_ssize_t len;

    (void)mod;
    if (nargs != 2 || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "decode(plan, data: bytes)");
        return NULL;
    }
    if (mc_plan_build(&plan, args[0], 0) == 0) {
        if (PyBytes_AsStringAndSize(args[1], &data, &len) == 0) {
            if (len != plan.size)
                PyErr_Format(PyExc_ValueError, "decode: %zd bytes for a plan of %zd",
                             len, plan.size);
            else
                result = mc_decode(&plan, (const unsigned char *)data);
        }
    }
    mc_plan_clear(&plan);
    return result;
}

/* encode(plan, value) -> bytes, or None where C leaves the value to the general path. */
static PyObject *lpy_core_encode(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    struct mc_plan plan;
    PyObject *result = NULL;
    unsigned char *buf;
    int ret;

    (void)mod;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "encode(plan, value)");
        return NULL;
    }
    if (mc_plan_build(&plan, args[0], 0) == 0) {
        buf = PyMem_Calloc(1, (size_t)plan.size + 1);
        if (!buf) {
            PyErr_NoMemory();
        } else {
            ret = mc_encode(&plan, args[1], buf, 1);
            if (ret == LPY_ENC_OK)
                result = PyBytes_FromStringAndSize((const char *)buf, plan.size);
            else if (ret == LPY_ENC_GENERAL)
                result = Py_NewRef(Py_None);
            PyMem_Free(buf);
        }
    }
    mc_plan_clear(&plan);
    return result;
}

/* A decoder made by decoder(plan): the plan, built once, behind a capsule that is the
 * function's self. */
#define LPY_DECODER_CAPSULE "libbpf_py.mapcore.plan"

static void mc_decoder_free(PyObject *capsule)
{
    struct mc_plan *plan = PyCapsule_GetPointer(capsule, LPY_DECODER_CAPSULE);

    if (plan) {
        mc_plan_clear(plan);
        PyMem_Free(plan);
    }
}

/* decode(data): the value of the plan's first size bytes of any buffer (bytes,
 * memoryview, a ring's record) at least that long, as struct's unpack_from reads it. */
static PyObject *mc_decoder_call(PyObject *capsule, PyObject *data)
{
    struct mc_plan *plan = PyCapsule_GetPointer(capsule, LPY_DECODER_CAPSULE);
    PyObject *result = NULL;
    Py_buffer view;

    if (!plan)
        return NULL;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (view.len < plan->size)
        PyErr_Format(PyExc_ValueError, "decode: %zd bytes, but the type has %zd", view.len,
                     plan->size);
    else
        result = mc_decode(plan, (const unsigned char *)view.buf);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef mc_decoder_def = {
    "decode", mc_decoder_call, METH_O,
    "decode(data) -> the value of the first bytes of data, decoded in C by a codec plan",
};

/* decoder(plan) -> decode(data), a C function running the plan. */
static PyObject *lpy_core_decoder(PyObject *mod, PyObject *src)
{
    struct mc_plan *plan = PyMem_Calloc(1, sizeof(*plan));
    PyObject *capsule, *func;

    (void)mod;
    if (!plan)
        return PyErr_NoMemory();
    if (mc_plan_build(plan, src, 0) < 0) {
        mc_plan_clear(plan);
        PyMem_Free(plan);
        return NULL;
    }
    capsule = PyCapsule_New(plan, LPY_DECODER_CAPSULE, mc_decoder_free);
    if (!capsule) {
        mc_plan_clear(plan);
        PyMem_Free(plan);
        return NULL;
    }
    func = PyCFunction_NewEx(&mc_decoder_def, capsule, NULL);
    Py_DECREF(capsule);
    return func;
}

static PyMethodDef lpy_core_functions[] = {
    {"bind_general", (PyCFunction)(void (*)(void))(lpy_fastcall_fn)lpy_core_bind_general,
     METH_FASTCALL, "bind_general(getitem, setitem, delitem, get, contains, update)"},
    {"decoder", lpy_core_decoder, METH_O,
     "decoder(plan) -> decode(data), a C function running the plan on any buffer"},
    {"core_ops", mc_core_ops_py, METH_NOARGS,
     "core_ops() -> how many map operations C completed itself"},
    {"decode", (PyCFunction)(void (*)(void))(lpy_fastcall_fn)lpy_core_decode, METH_FASTCALL,
     "decode(plan, data) -> the value the plan reads from data"},
    {"encode", (PyCFunction)(void (*)(void))(lpy_fastcall_fn)lpy_core_encode, METH_FASTCALL,
     "encode(plan, value) -> bytes, or None where the general path must encode"},
    {NULL, NULL, 0, NULL},
};

/* Put MapCore and the functions above into the module named `module` (the one being
 * imported). CFFI calls C without the GIL: take it here. 0 on success. */
static int lpy_mapcore_install(const char *module)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *mod, *type = NULL, *func, *builtins;
    PyMethodDef *def;
    int ret = -1;

    mod = PyImport_AddModule(module);  /* borrowed */
    if (!mod)
        goto out;
    mc_tuple_new_needed = Py_Version >= 0x030E0000;
    if (!mc_tuple_new) {
        builtins = PyImport_ImportModule("builtins");
        if (!builtins)
            goto out;
        {
            PyObject *tuple = PyObject_GetAttrString(builtins, "tuple");

            Py_DECREF(builtins);
            if (!tuple)
                goto out;
            mc_tuple_new = PyObject_GetAttrString(tuple, "__new__");
            Py_DECREF(tuple);
        }
        if (!mc_tuple_new)
            goto out;
    }
    type = PyType_FromSpec(&core_spec);
    if (!type || PyObject_SetAttrString(mod, "MapCore", type) < 0)
        goto out;
    for (def = lpy_core_functions; def->ml_name; def++) {
        func = PyCFunction_NewEx(def, NULL, NULL);
        if (!func || PyObject_SetAttrString(mod, def->ml_name, func) < 0) {
            Py_XDECREF(func);
            goto out;
        }
        Py_DECREF(func);
    }
    ret = 0;
out:
    Py_XDECREF(type);
    if (ret < 0)
        PyErr_Clear();  /* the caller raises its own ImportError */
    PyGILState_Release(gil);
    return ret;
}
