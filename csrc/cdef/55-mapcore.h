/* The C base type of fast maps (csrc/mapcore.c): installs MapCore and its functions into
 * the named module, which must be the one being imported. 0 on success. */
int lpy_mapcore_install(const char *module);
