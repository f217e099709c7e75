/* Borrowed ring buffer records and batched callbacks (csrc/ringcore.c): installs its
 * Python types and functions into the named module, which must be the one being
 * imported (libbpf_py/_lowlevel/ringcore.py). 0 on success. */
int lpy_ringcore_install(const char *module);
