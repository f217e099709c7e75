/* The hot path of Program.test_run(data) in C, called from Python without CFFI.
 *
 * Why: a test run of a small packet costs the kernel about a microsecond, and the
 * kernel's path evicts the interpreter's code and data from the caches and branch
 * predictors, so every Python step after it costs several times its usual price. Here a
 * call prog.test_run(packet) is one C call: it checks the handle the way the Python
 * method does, runs the program with the GIL released, and builds the TestRunResult.
 * Every other call, and every case it is not sure of, goes to the Python method, which
 * stays the one definition of what test_run does.
 *
 * build_ffi.py compiles the module against the stable ABI of Python 3.11, which has
 * METH_FASTCALL. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <bpf/bpf.h>

/* The same sizes as libbpf_py/_lowlevel/fastcall.py: packets up to LPY_FAST_MAX bytes,
 * with LPY_HEADROOM bytes more for the program to grow the packet. */
#define LPY_FAST_MAX 2048
#define LPY_HEADROOM 4096
#define LPY_RESULT_FIELDS 5

/* What lpy_fast_run did. */
#define LPY_GENERAL 0  /* not for this path: nothing ran */
#define LPY_RAN 1      /* *result is the TestRunResult */
#define LPY_FAILED 2   /* the run failed with *err (the program may have run) */
#define LPY_ERROR (-1) /* a Python exception is set */

typedef PyObject *(*lpy_fastcall_kw)(PyObject *, PyObject *const *, Py_ssize_t, PyObject *);

/* Bound once by libbpf_py/_lowlevel/fastcall.py; the references are permanent. The
 * Python side names the attribute and the key read here (make_method), so this file
 * knows no Python name but the keyword "repeat" of the method it stands in for. */
static PyObject *lpy_result_type;  /* TestRunResult */
static PyObject *lpy_general;      /* the Python Program.test_run */
static PyObject *lpy_on_failure;   /* raises the library's error for an errno */
static PyObject *lpy_ready;        /* the attribute holding the fd the fast path may use */
static PyObject *lpy_gate;         /* a dict whose lpy_gate_key entry, unless False, */
static PyObject *lpy_gate_key;     /*   sends every call to the Python method */
static PyObject *lpy_s_repeat;

/* Calls the C method ran itself (counted with the GIL held): a test checks that the
 * fast path is taken, so a change on the Python side cannot silently disable it. */
static unsigned long long lpy_fast_calls;

/* The last result returned, while it may be reused: the way zip() and enumerate() reuse
 * their tuple, a result that nobody but this module holds any more (its reference count
 * is back to 1) is refilled rather than freed and allocated again. Only code holding the
 * GIL touches it. */
static PyObject *lpy_spare;

/* A result tuple with one reference, owned by the caller: the spare if it is free, else
 * a new one. Its fields are NULL or the previous call's (PyTuple_SetItem drops those). */
static PyObject *lpy_result(void)
{
    PyObject *result = lpy_spare;

    lpy_spare = NULL;
    if (result) {
        if (Py_REFCNT(result) == 1)
            return result;
        Py_DECREF(result);  /* the caller kept it: it is theirs now */
    }
    /* Allocated as tuple.__new__ allocates a subclass of tuple (tp_alloc of a class
     * made by a class statement is PyType_GenericAlloc). */
    return PyType_GenericAlloc((PyTypeObject *)lpy_result_type, LPY_RESULT_FIELDS);
}

/* Run the program behind fd on data (exactly bytes, 1..LPY_FAST_MAX bytes) repeat
 * times (an int in 0..INT_MAX; NULL means 1). */
static int lpy_fast_run(long fd, PyObject *data, PyObject *repeat_obj, PyObject **result,
                        int *err)
{
    char out[LPY_FAST_MAX + LPY_HEADROOM];
    PyObject *packet, *retval, *duration, *res, *old;
    const char *bytes;
    Py_ssize_t len;
    long repeat = 1;
    __u32 retval_raw, duration_raw;
    int ret;

    if (!lpy_result_type) {
        PyErr_SetString(PyExc_RuntimeError, "libbpf_py: test_run's result type is unbound");
        return LPY_ERROR;
    }
    if (!PyBytes_CheckExact(data) || fd < 0 || fd > INT_MAX)
        return LPY_GENERAL;
    len = PyBytes_Size(data);
    if (len <= 0 || len > LPY_FAST_MAX)
        return LPY_GENERAL;
    if (repeat_obj) {
        if (!PyLong_Check(repeat_obj))
            return LPY_GENERAL;
        repeat = PyLong_AsLong(repeat_obj);
        if (repeat < 0 || repeat > INT_MAX) {
            PyErr_Clear();  /* too large for a long: the general path says so */
            return LPY_GENERAL;
        }
    }
    bytes = PyBytes_AsString(data);

    {
        LIBBPF_OPTS(bpf_test_run_opts, opts,
            .data_in = bytes,
            .data_size_in = (__u32)len,
            .data_out = out,
            .data_size_out = (__u32)(len + LPY_HEADROOM),
            .repeat = (int)repeat,
        );

        /* One run of a packet program is a microsecond or two: releasing the GIL for it
         * would cost more than other threads gain (about 6 % per call here). Repeated
         * runs release it. The caller's reference keeps data alive, and bytes never
         * change: the buffer stays valid while other threads run. */
        if (repeat <= 1) {
            ret = bpf_prog_test_run_opts((int)fd, &opts);
        } else {
            Py_BEGIN_ALLOW_THREADS
            ret = bpf_prog_test_run_opts((int)fd, &opts);
            Py_END_ALLOW_THREADS
        }
        if (ret < 0) {
            *err = -ret;
            return LPY_FAILED;
        }
        retval_raw = opts.retval;
        duration_raw = opts.duration;

        /* A program that leaves the packet as it was (most filters) gives back an
         * equal packet: bytes are immutable, so hand back the caller's own. */
        if (opts.data_size_out == (__u32)len && !memcmp(out, bytes, (size_t)len)) {
            Py_INCREF(data);
            packet = data;
        } else {
            packet = PyBytes_FromStringAndSize(out, opts.data_size_out);
            if (!packet)
                return LPY_ERROR;
        }
    }
    retval = PyLong_FromUnsignedLong(retval_raw);
    duration = PyLong_FromUnsignedLong(duration_raw);
    res = lpy_result();
    if (!retval || !duration || !res) {
        Py_DECREF(packet);
        Py_XDECREF(retval);
        Py_XDECREF(duration);
        Py_XDECREF(res);
        return LPY_ERROR;
    }
    /* Only this function sees res (its one reference is ours): set its fields. */
    PyTuple_SetItem(res, 0, retval);
    PyTuple_SetItem(res, 1, packet);
    Py_INCREF(Py_None);
    PyTuple_SetItem(res, 2, Py_None);
    PyTuple_SetItem(res, 3, duration);
    Py_INCREF(Py_None);
    PyTuple_SetItem(res, 4, Py_None);
    /* Keep it as the spare: once the caller drops it, the next call reuses it. A run
     * started from a finalizer during the allocation above may have left its own. */
    Py_INCREF(res);
    old = lpy_spare;
    lpy_spare = res;
    Py_XDECREF(old);
    *result = res;
    return LPY_RAN;
}

/* test_run_packet(fd, data, repeat) -> TestRunResult | int
 *
 * The int is 0 when the arguments are not for this path (data not exactly bytes, empty
 * or longer than LPY_FAST_MAX, repeat not an int in 0..INT_MAX): the caller takes its
 * general path. Otherwise it is the errno of a failed run, for the caller to turn into
 * the library's exception; the program may have run, so the caller must not retry. */
static PyObject *lpy_test_run_packet_py(PyObject *self, PyObject *const *args,
                                        Py_ssize_t nargs)
{
    PyObject *result = NULL;
    long fd;
    int err = 0, how;

    (void)self;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "test_run_packet(fd, data, repeat)");
        return NULL;
    }
    if (!PyLong_CheckExact(args[0]))
        return PyLong_FromLong(0);
    fd = PyLong_AsLong(args[0]);
    if (fd == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return PyLong_FromLong(0);
    }
    how = lpy_fast_run(fd, args[1], args[2], &result, &err);
    if (how == LPY_RAN)
        return result;
    if (how == LPY_ERROR)
        return NULL;
    return PyLong_FromLong(how == LPY_FAILED ? err : 0);
}

/* The fd of the program `self` if test_run may take this path now, else -1. The
 * Python object keeps that answer in the attribute named lpy_ready: the fd while the
 * program is open and of a kind whose result is the packet, -1 otherwise. Teaching mode
 * (the gate) sends everything to the Python method. Anything unexpected answers -1. */
static long lpy_ready_fd(PyObject *self)
{
    PyObject *on, *value;
    long fd = -1;

    on = PyDict_GetItemWithError(lpy_gate, lpy_gate_key);  /* borrowed */
    if (on != Py_False)
        goto out;
    value = PyObject_GetAttr(self, lpy_ready);
    if (value && PyLong_CheckExact(value))
        fd = PyLong_AsLong(value);
    Py_XDECREF(value);
out:
    if (PyErr_Occurred()) {
        PyErr_Clear();  /* no exception was set on entry: this one is ours */
        fd = -1;
    }
    return fd;
}

/* The Python method, with the arguments exactly as given. */
static PyObject *lpy_call_general(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                                  PyObject *kwnames)
{
    Py_ssize_t i, nkw = kwnames ? PyTuple_Size(kwnames) : 0;
    PyObject *posargs, *kwargs = NULL, *result = NULL;

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
    result = PyObject_Call(lpy_general, posargs, kwargs);
out:
    Py_DECREF(posargs);
    Py_XDECREF(kwargs);
    return result;
}

/* Program.test_run: test_run(packet) and test_run(packet, repeat=n) here, the rest in
 * the Python method. */
static PyObject *lpy_test_run_method(PyObject *self, PyObject *const *args,
                                     Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *repeat = NULL, *result = NULL, *name;
    long fd;
    int err = 0, how;

    if (nargs != 1)
        goto general;
    if (kwnames) {
        if (PyTuple_Size(kwnames) != 1)
            goto general;
        name = PyTuple_GetItem(kwnames, 0);
        /* Keyword names in code are interned, so this is nearly always the same object. */
        if (name != lpy_s_repeat && PyUnicode_Compare(name, lpy_s_repeat) != 0) {
            PyErr_Clear();
            goto general;
        }
        repeat = args[1];
    }
    fd = lpy_ready_fd(self);
    if (fd < 0)
        goto general;
    how = lpy_fast_run(fd, args[0], repeat, &result, &err);
    if (how == LPY_RAN || how == LPY_FAILED)
        lpy_fast_calls++;
    if (how == LPY_RAN)
        return result;
    if (how == LPY_ERROR)
        return NULL;
    if (how == LPY_FAILED)
        return PyObject_CallFunction(lpy_on_failure, "OiO", self, err, args[0]);
general:
    return lpy_call_general(self, args, nargs, kwnames);
}

/* bind_result_type(TestRunResult): the class test_run_packet returns. It must be a
 * plain subclass of tuple with no instance storage of its own (a NamedTuple), since the
 * result is allocated the way tuple.__new__ allocates it; the Python side checks that
 * and the field count before binding. */
static PyObject *lpy_fast_bind(PyObject *self, PyObject *type)
{
    (void)self;
    if (!PyType_Check(type) || !PyType_IsSubtype((PyTypeObject *)type, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "bind_result_type: a tuple subclass is needed");
        return NULL;
    }
    Py_INCREF(type);
    Py_XDECREF(lpy_result_type);
    lpy_result_type = type;
    Py_CLEAR(lpy_spare);  /* of the class bound before */
    Py_RETURN_NONE;
}

static int lpy_intern(PyObject **slot, const char *text)
{
    if (!*slot)
        *slot = PyUnicode_InternFromString(text);
    return *slot ? 0 : -1;
}

/* make_method(cls, general, on_failure, ready, gate, gate_key, doc) -> a method
 * descriptor of cls named like general, taking test_run's fast cases itself and calling
 * general(self, ...) for the rest. It runs on the fd in self.<ready> (an int, -1 when
 * the fast path is closed to it) while gate[gate_key] is False. on_failure(self, errno,
 * data) raises the library's error of a failed fast run. doc (bytes) becomes the
 * method's __doc__ and, through its first line, its __text_signature__. */
static PyObject *lpy_make_method(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyMethodDef *def;
    const char *doc;
    char *copy;
    Py_ssize_t len;
    int i;

    (void)self;
    if (nargs != 7 || !PyType_Check(args[0]) || !PyCallable_Check(args[1])
            || !PyCallable_Check(args[2]) || !PyUnicode_Check(args[3])
            || !PyDict_Check(args[4]) || !PyUnicode_Check(args[5])
            || !PyBytes_Check(args[6])) {
        PyErr_SetString(PyExc_TypeError, "make_method(cls, general, on_failure, ready: str, "
                        "gate: dict, gate_key: str, doc: bytes)");
        return NULL;
    }
    if (lpy_intern(&lpy_s_repeat, "repeat"))
        return NULL;
    if (PyBytes_AsStringAndSize(args[6], (char **)&doc, &len) < 0)
        return NULL;
    /* A method descriptor points at its definition for as long as it lives: these are
     * made once per process and never freed. */
    def = PyMem_Malloc(sizeof(*def));
    copy = PyMem_Malloc((size_t)len + 1);
    if (!def || !copy) {
        PyMem_Free(def);
        PyMem_Free(copy);
        return PyErr_NoMemory();
    }
    memcpy(copy, doc, (size_t)len + 1);
    def->ml_name = "test_run";
    def->ml_meth = (PyCFunction)(void (*)(void))(lpy_fastcall_kw)lpy_test_run_method;
    def->ml_flags = METH_FASTCALL | METH_KEYWORDS;
    def->ml_doc = copy;
    {
        PyObject **slots[] = {&lpy_general, &lpy_on_failure, &lpy_ready, &lpy_gate,
                              &lpy_gate_key};

        for (i = 0; i < 5; i++) {
            Py_INCREF(args[i + 1]);
            Py_XDECREF(*slots[i]);
            *slots[i] = args[i + 1];
        }
    }
    return PyDescr_NewMethod((PyTypeObject *)args[0], def);
}

/* fast_calls() -> how many calls the C method ran itself so far. */
static PyObject *lpy_fast_calls_py(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromUnsignedLongLong(lpy_fast_calls);
}

static PyMethodDef lpy_fast_methods[] = {
    {"test_run_packet", (PyCFunction)(void (*)(void))lpy_test_run_packet_py, METH_FASTCALL,
     "test_run_packet(fd, data, repeat) -> TestRunResult | int"},
    {"bind_result_type", lpy_fast_bind, METH_O,
     "bind_result_type(cls): the class test_run_packet returns"},
    {"make_method", (PyCFunction)(void (*)(void))lpy_make_method, METH_FASTCALL,
     "make_method(cls, general, on_failure, ready, gate, gate_key, doc) -> descriptor"},
    {"fast_calls", lpy_fast_calls_py, METH_NOARGS,
     "fast_calls() -> how many test_run calls the C method ran itself"},
    {NULL, NULL, 0, NULL},
};

/* Put the functions above into the Python module named `module` (already in
 * sys.modules: it is the one importing). CFFI calls C without the GIL: take it here.
 * The functions live as long as the interpreter (the module keeps them). */
static int lpy_fastcall_install(const char *module)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *mod, *func;
    PyMethodDef *def;
    int ret = 0;

    mod = PyImport_AddModule(module);  /* borrowed */
    for (def = lpy_fast_methods; mod && def->ml_name; def++) {
        func = PyCFunction_NewEx(def, NULL, NULL);
        if (!func || PyObject_SetAttrString(mod, def->ml_name, func) < 0) {
            Py_XDECREF(func);
            ret = -1;
            break;
        }
        Py_DECREF(func);
    }
    if (!mod)
        ret = -1;
    if (ret < 0)
        PyErr_Clear();  /* the caller raises its own ImportError */
    PyGILState_Release(gil);
    return ret;
}
