/* The C baseline of Program.test_run(repeat=1): the same program, the same 64-byte
 * packet, the same libbpf (vendored), one bpf_prog_test_run_opts call per run.
 *
 *   test_run_c OBJECT PROGRAM CALLS  ->  prints "ns_per_call <float>" */
#include <stdlib.h>
#include "baseline.h"

int main(int argc, char **argv)
{
    struct bpf_object *obj;
    char pkt[64] = {0}, out[64 + 4096];
    long calls, i;
    double start, elapsed;
    int fd;

    if (argc != 4) {
        fprintf(stderr, "usage: %s OBJECT PROGRAM CALLS\n", argv[0]);
        return 2;
    }
    calls = atol(argv[3]);
    obj = bpf_object__open_file(argv[1], NULL);
    fd = load_program(obj, argv[1], argv[2]);
    if (fd < 0)
        return 1;
    start = now();
    for (i = 0; i < calls; i++) {
        /* A Python call builds its options per call too; so does this loop. */
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt),
                    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
        if (bpf_prog_test_run_opts(fd, &opts) || opts.retval != 2) {
            fprintf(stderr, "test run failed\n");
            return 1;
        }
    }
    elapsed = now() - start;
    printf("ns_per_call %.1f\n", elapsed / calls * 1e9);
    bpf_object__close(obj);
    return 0;
}
