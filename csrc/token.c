/* C helpers of libbpf_py/token.py and the feature probes run through a BPF token.
 *
 * libbpf's public probes (libbpf_probe_bpf_prog_type, ..._helper) take no token, so
 * inside a user namespace they always say no; these load the same kind of program
 * with BPF_F_TOKEN_FD set. Every function returns -errno on failure. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

static void lpy_token_opts(struct bpf_prog_load_opts *opts, int token_fd,
                           int expected_attach_type)
{
    opts->expected_attach_type = expected_attach_type;
    opts->token_fd = token_fd;
    opts->prog_flags = BPF_F_TOKEN_FD;
}

/* "r0 = retval; exit", loaded through the token. */
static int lpy_token_prog_load_min(int token_fd, int prog_type, int expected_attach_type,
                                   int attach_btf_id, int attach_prog_fd, int retval)
{
    struct bpf_insn insns[2];
    LIBBPF_OPTS(bpf_prog_load_opts, opts);
    int fd;

    lpy_retval_exit(insns, retval); /* attach.c */
    lpy_token_opts(&opts, token_fd, expected_attach_type);
    opts.attach_btf_id = attach_btf_id;
    opts.attach_prog_fd = attach_prog_fd;
    fd = bpf_prog_load(prog_type, "lpy_probe", "GPL", insns, 2, &opts);
    return fd < 0 ? -errno : fd;
}

/* Whether programs of prog_type may call helper_id: 1 yes, 0 no, -errno when the
 * program could not be loaded for another reason. The call has no arguments set up,
 * so the verifier rejects most programs either way: which message it gives tells an
 * unknown helper apart from a known one. */
static int lpy_token_probe_helper(int token_fd, int prog_type, int expected_attach_type,
                                  int helper_id)
{
    struct bpf_insn insns[3];
    static __thread char log[4096];
    LIBBPF_OPTS(bpf_prog_load_opts, opts);
    int fd, err;

    memset(insns, 0, sizeof(insns));
    insns[0].code = BPF_JMP | BPF_CALL;
    insns[0].imm = helper_id;
    insns[1].code = BPF_ALU64 | BPF_MOV | BPF_K;
    insns[1].dst_reg = BPF_REG_0;
    insns[2].code = BPF_JMP | BPF_EXIT;
    lpy_token_opts(&opts, token_fd, expected_attach_type);
    log[0] = '\0';
    opts.log_buf = log;
    opts.log_size = sizeof(log);
    opts.log_level = 1;
    fd = bpf_prog_load(prog_type, "lpy_probe", "GPL", insns, 3, &opts);
    err = fd < 0 ? errno : 0;
    if (fd >= 0) {
        close(fd);
        return 1;
    }
    if (strstr(log, "invalid func ") || strstr(log, "unknown func ") ||
        strstr(log, "program of this type cannot use helper "))
        return 0;
    /* EPERM/EACCES before the verifier ran: the token does not allow the load. */
    if (log[0] == '\0')
        return -err;
    return 1;
}
