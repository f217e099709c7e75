/* Small C helpers of libbpf_py (csrc/helpers.c). */

/* libbpf's print callback takes a va_list, which Python cannot receive: the C
 * trampoline formats each message and hands the text to this Python function. */
extern "Python" void lpy_on_print(int level, const char *msg, size_t len);

/* Messages less urgent than this level (LIBBPF_WARN=0 ... LIBBPF_DEBUG=2) are dropped
 * in C, so quiet runs never enter Python for libbpf's debug chatter. */
void lpy_print_install(void);
void lpy_print_set_level(int level);
int lpy_print_get_level(void);

/* Write a C header of every type in a BTF blob (vmlinux.h) through libbpf's btf_dump. */
int lpy_write_btf_header(const char *btf_path, const char *out_path);

/* sched.h: enter another network namespace (os.setns exists only from Python 3.12). */
int setns(int fd, int nstype);
