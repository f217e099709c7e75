/* Helper binary for uprobe and USDT tests: each line on stdin calls lpy_target() (and
 * fires the USDT probe lpytest:tick with argument 42); it answers "ok" per line. */
#include <stdio.h>
#include <sys/sdt.h>

__attribute__((noinline)) int lpy_target(int n)
{
    __asm__ volatile("" ::: "memory");
    return n + 1;
}

__attribute__((noinline)) int lpy_target_two(int n)
{
    __asm__ volatile("" ::: "memory");
    return n * 2;
}

int main(void)
{
    char line[64];
    int n = 42;

    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof(line), stdin)) {
        DTRACE_PROBE1(lpytest, tick, n);
        lpy_target(n);
        lpy_target_two(n);
        printf("ok\n");
    }
    return 0;
}
