/* Perf buffers with C callbacks (csrc/perfcore.c): installs PerfReader into the named
 * module, which must be the one being imported. 0 on success. */
int lpy_perfcore_install(const char *module);
