/* The C fast path of Program.test_run (csrc/fastcall.c): installs its Python functions
 * into the named module, which must be the one being imported. 0 on success. */
int lpy_fastcall_install(const char *module);
