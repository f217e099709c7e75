/* PerfReader: libbpf's perf buffer with its callbacks in C, called with the GIL held.
 *
 * Why: through CFFI, every sample crossed a callback trampoline that takes the GIL,
 * converts the arguments, copies the sample through a cdata buffer and calls Python:
 * about a microsecond a sample. Here consume() and poll() call libbpf holding the GIL
 * (poll releases it only while it waits on the epoll fd), and the sample callback makes
 * the sample's bytes, decodes them and calls on_sample(cpu, record) directly.
 *
 * Only that common case is C's. Samples when there is no on_sample, loss reports, and
 * whatever arrives after a callback raised go to the Python methods given at creation
 * (take_sample(cpu, raw, pending), take_lost(cpu, count, pending)), which keep the
 * library's rules. The first exception any of them raises is kept and raised by the
 * consume() or poll() that ran them; samples after it are handed over as pending (the
 * Python side keeps them for the next call), so none is lost. */
#include <errno.h>
#include <sys/epoll.h>
#include <bpf/libbpf.h>

typedef struct {
    PyObject_HEAD
    struct perf_buffer *pb;
    PyObject *on_sample;    /* callable(cpu, record), or NULL: take_sample decides */
    PyObject *decode;       /* callable(raw) -> record, or NULL: the raw bytes */
    PyObject *take_sample;  /* callable(cpu, raw, pending) */
    PyObject *take_lost;    /* callable(cpu, count, pending) */
    PyObject *exc;          /* the first exception of this call, kept until it ends */
    unsigned long long delivered;  /* samples given to on_sample by C */
} PerfReader;

/* Keep the exception being raised as the call's, unless one is kept already. */
static void pr_keep_error(PerfReader *self)
{
    PyObject *type, *value, *tb;

    PyErr_Fetch(&type, &value, &tb);
    if (self->exc) {
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        return;
    }
    PyErr_NormalizeException(&type, &value, &tb);
    if (value && tb)
        PyException_SetTraceback(value, tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    self->exc = value ? value : Py_NewRef(Py_None);
}

static void pr_call(PerfReader *self, PyObject *fn, PyObject *a, PyObject *b, PyObject *c)
{
    PyObject *ret = PyObject_CallFunctionObjArgs(fn, a, b, c, NULL);

    if (ret)
        Py_DECREF(ret);
    else
        pr_keep_error(self);
}

static void pr_sample(void *ctx, int cpu, void *data, __u32 size)
{
    PerfReader *self = ctx;
    PyObject *raw, *record, *cpu_obj, *ret;

    raw = PyBytes_FromStringAndSize(data, size);
    cpu_obj = PyLong_FromLong(cpu);
    if (!raw || !cpu_obj) {
        pr_keep_error(self);
        goto out;
    }
    if (self->exc || !self->on_sample) {
        pr_call(self, self->take_sample, cpu_obj, raw, self->exc ? Py_True : Py_False);
        goto out;
    }
    if (self->decode) {
        record = PyObject_CallFunctionObjArgs(self->decode, raw, NULL);
        if (!record) {
            /* Not delivered: from here on the Python side keeps the samples. */
            pr_keep_error(self);
            goto out;
        }
    } else {
        record = Py_NewRef(raw);
    }
    self->delivered++;
    ret = PyObject_CallFunctionObjArgs(self->on_sample, cpu_obj, record, NULL);
    Py_DECREF(record);
    if (ret)
        Py_DECREF(ret);
    else
        pr_keep_error(self);
out:
    Py_XDECREF(raw);
    Py_XDECREF(cpu_obj);
}

static void pr_lost(void *ctx, int cpu, __u64 count)
{
    PerfReader *self = ctx;
    PyObject *cpu_obj = PyLong_FromLong(cpu), *count_obj = PyLong_FromUnsignedLongLong(count);

    if (cpu_obj && count_obj)
        pr_call(self, self->take_lost, cpu_obj, count_obj, self->exc ? Py_True : Py_False);
    else
        pr_keep_error(self);
    Py_XDECREF(cpu_obj);
    Py_XDECREF(count_obj);
}

/* End of a consume() or poll(): raise the kept exception, or return ret. */
static PyObject *pr_finish(PerfReader *self, long ret)
{
    PyObject *exc = self->exc;

    self->exc = NULL;
    if (exc) {
        if (exc == Py_None) {
            Py_DECREF(exc);
            PyErr_SetString(PyExc_SystemError, "libbpf_py: a perf callback failed");
            return NULL;
        }
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
        return NULL;
    }
    return PyLong_FromLong(ret);
}

static int pr_open(PerfReader *self, const char *what)
{
    if (self->pb)
        return 1;
    PyErr_Format(PyExc_ValueError, "PerfReader.%s: the perf buffer is freed", what);
    return 0;
}

/* consume() -> 0 or -errno: every sample there is now, the GIL held throughout. */
static PyObject *pr_consume(PyObject *op, PyObject *unused)
{
    PerfReader *self = (PerfReader *)op;

    (void)unused;
    if (!pr_open(self, "consume"))
        return NULL;
    return pr_finish(self, perf_buffer__consume(self->pb));
}

/* poll(ms) -> how many buffers had data (0: none within ms), or -errno. The wait runs
 * without the GIL; the samples are then consumed with it. */
static PyObject *pr_poll(PyObject *op, PyObject *arg)
{
    PerfReader *self = (PerfReader *)op;
    struct epoll_event events[1];
    int ms, fd, n, ret;

    if (!pr_open(self, "poll"))
        return NULL;
    ms = (int)PyLong_AsLong(arg);
    if (ms == -1 && PyErr_Occurred())
        return NULL;
    fd = perf_buffer__epoll_fd(self->pb);
    Py_BEGIN_ALLOW_THREADS
    n = epoll_wait(fd, events, 1, ms);
    Py_END_ALLOW_THREADS
    if (n < 0)
        return PyLong_FromLong(-errno);
    if (n == 0 || !self->pb)  /* closed while waiting: the caller says so */
        return PyLong_FromLong(0);
    ret = perf_buffer__consume(self->pb);
    return pr_finish(self, ret < 0 ? ret : n);
}

static PyObject *pr_epoll_fd(PyObject *op, PyObject *unused)
{
    PerfReader *self = (PerfReader *)op;

    (void)unused;
    if (!pr_open(self, "epoll_fd"))
        return NULL;
    return PyLong_FromLong(perf_buffer__epoll_fd(self->pb));
}

static PyObject *pr_buffer_count(PyObject *op, PyObject *unused)
{
    PerfReader *self = (PerfReader *)op;

    (void)unused;
    if (!pr_open(self, "buffer_count"))
        return NULL;
    return PyLong_FromSize_t(perf_buffer__buffer_cnt(self->pb));
}

static PyObject *pr_delivered(PyObject *op, PyObject *unused)
{
    (void)unused;
    return PyLong_FromUnsignedLongLong(((PerfReader *)op)->delivered);
}

static int pr_clear(PyObject *op)
{
    PerfReader *self = (PerfReader *)op;

    Py_CLEAR(self->on_sample);
    Py_CLEAR(self->decode);
    Py_CLEAR(self->take_sample);
    Py_CLEAR(self->take_lost);
    Py_CLEAR(self->exc);
    return 0;
}

/* free(): the perf buffer goes (its pages unmapped); the callbacks with it. */
static PyObject *pr_free(PyObject *op, PyObject *unused)
{
    PerfReader *self = (PerfReader *)op;
    struct perf_buffer *pb = self->pb;

    (void)unused;
    self->pb = NULL;
    if (pb)
        perf_buffer__free(pb);
    pr_clear(op);
    Py_RETURN_NONE;
}

static int pr_traverse(PyObject *op, visitproc visit, void *arg)
{
    PerfReader *self = (PerfReader *)op;

    Py_VISIT(Py_TYPE(op));
    Py_VISIT(self->on_sample);
    Py_VISIT(self->decode);
    Py_VISIT(self->take_sample);
    Py_VISIT(self->take_lost);
    Py_VISIT(self->exc);
    return 0;
}

static void pr_dealloc(PyObject *op)
{
    PyTypeObject *type = Py_TYPE(op);
    PerfReader *self = (PerfReader *)op;
    freefunc tp_free = (freefunc)PyType_GetSlot(type, Py_tp_free);

    PyObject_GC_UnTrack(op);
    if (self->pb)
        perf_buffer__free(self->pb);
    self->pb = NULL;
    pr_clear(op);
    tp_free(op);
    Py_DECREF(type);
}

static PyObject *pr_optional(PyObject *obj)
{
    return obj == Py_None ? NULL : Py_NewRef(obj);
}

/* PerfReader(map_fd, page_count, on_sample, decode, take_sample, take_lost): on_sample
 * and decode may be None. Raises OSError(errno) when libbpf cannot make the buffers. */
static PyObject *pr_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *on_sample, *decode, *take_sample, *take_lost;
    PerfReader *self;
    allocfunc alloc;
    struct perf_buffer *pb;
    int map_fd, err;
    Py_ssize_t pages;

    if (kwargs && PyDict_Size(kwargs)) {
        PyErr_SetString(PyExc_TypeError, "PerfReader() takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "inOOOO", &map_fd, &pages, &on_sample, &decode, &take_sample,
                          &take_lost))
        return NULL;
    if (pages <= 0 || !PyCallable_Check(take_sample) || !PyCallable_Check(take_lost)
            || (on_sample != Py_None && !PyCallable_Check(on_sample))
            || (decode != Py_None && !PyCallable_Check(decode))) {
        PyErr_SetString(PyExc_TypeError, "PerfReader(map_fd, page_count > 0, on_sample, "
                        "decode, take_sample, take_lost): callables or None");
        return NULL;
    }
    alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
    self = (PerfReader *)alloc(type, 0);
    if (!self)
        return NULL;
    self->on_sample = pr_optional(on_sample);
    self->decode = pr_optional(decode);
    self->take_sample = Py_NewRef(take_sample);
    self->take_lost = Py_NewRef(take_lost);
    pb = perf_buffer__new(map_fd, (size_t)pages, pr_sample, pr_lost, self, NULL);
    err = libbpf_get_error(pb);
    if (err) {
        Py_DECREF(self);
        errno = -err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    self->pb = pb;
    return (PyObject *)self;
}

static PyMethodDef pr_methods[] = {
    {"consume", pr_consume, METH_NOARGS, "consume() -> 0 or -errno: handle every sample"},
    {"poll", pr_poll, METH_O, "poll(ms) -> buffers with data, or -errno"},
    {"epoll_fd", pr_epoll_fd, METH_NOARGS, "epoll_fd() -> the fd readable when data is in"},
    {"buffer_count", pr_buffer_count, METH_NOARGS, "buffer_count() -> per-CPU buffers"},
    {"delivered", pr_delivered, METH_NOARGS, "delivered() -> samples C gave on_sample"},
    {"free", pr_free, METH_NOARGS, "free(): unmap the buffers and drop the callbacks"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot pr_slots[] = {
    {Py_tp_doc, (void *)"libbpf's perf buffer with its sample callback in C."},
    {Py_tp_new, (void *)pr_new},
    {Py_tp_dealloc, (void *)pr_dealloc},
    {Py_tp_traverse, (void *)pr_traverse},
    {Py_tp_clear, (void *)pr_clear},
    {Py_tp_methods, pr_methods},
    {0, NULL},
};

static PyType_Spec pr_spec = {
    .name = "libbpf_py._lowlevel.perfcore.PerfReader",
    .basicsize = (int)sizeof(PerfReader),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = pr_slots,
};

/* Put PerfReader into the module named `module` (the one being imported). 0 on success. */
static int lpy_perfcore_install(const char *module)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *mod = PyImport_AddModule(module), *type = NULL;  /* mod: borrowed */
    int ret = -1;

    if (mod) {
        type = PyType_FromSpec(&pr_spec);
        if (type && PyObject_SetAttrString(mod, "PerfReader", type) == 0)
            ret = 0;
    }
    Py_XDECREF(type);
    if (ret < 0)
        PyErr_Clear();  /* the caller raises its own ImportError */
    PyGILState_Release(gil);
    return ret;
}
