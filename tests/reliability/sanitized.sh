#!/usr/bin/env bash
# Run part of the suite against C parts built with a sanitizer, in a scratch copy.
#
#   tests/reliability/sanitized.sh address [pytest args...]   AddressSanitizer
#
# (Coverage-guided fuzzing of libbpf itself is tests/reliability/fuzz/native.sh: atheris
# loads its libFuzzer privately, so a Python module built with coverage cannot feed it.)
#
# The work tree's own module is never touched: the tree is copied to
# build/sanitized-<kind>/ (without .venv and build outputs), the vendored libbpf and the
# CFFI module are built there with the sanitizer (build_ffi.py honours
# LIBBPF_PY_SANITIZE; vendor/build.sh honours LIBBPF_PY_EXTRA_CFLAGS), and the copy is
# put first on PYTHONPATH.
#
# address: libasan is preloaded into the (uninstrumented) Python; leak detection is off
#   because CPython's own allocations at exit are not leaks of ours. Default tests: the
#   teardown-order, concurrency, soak and fuzz tests of tests/reliability (not the
#   native fuzzer, which has its own ASan build: fuzz/native.sh).
set -euo pipefail
kind=${1:?usage: $0 address [pytest args...]}
shift
root=$(cd "$(dirname "$0")/../.." && pwd)
py="$root/.venv/bin/python"
copy="$root/build/sanitized-$kind"

case "$kind" in
    address)
        export CC=gcc
        export LIBBPF_PY_SANITIZE=address
        export LIBBPF_PY_EXTRA_CFLAGS="-fsanitize=address -fno-omit-frame-pointer -g"
        runtime=$(gcc -print-file-name=libasan.so)
        ;;
    *) echo "sanitized.sh: unknown kind $kind (only address)" >&2; exit 2 ;;
esac

stamp_of() { shopt -s nullglob; cat "$root"/build_ffi.py "$root"/csrc/*.c "$root"/csrc/*.h "$root"/csrc/cdef/*.h "$root"/vendor/libbpf.pin \
    "$root"/vendor/patches/*.patch 2>/dev/null | sha256sum | cut -c1-16; }
mkdir -p "$copy"
# The tree as it is now (also what is not committed yet), without build outputs.
tar -C "$root" --exclude=./.venv --exclude=./build --exclude=./vendor/build \
    --exclude=./vendor/download --exclude='*.so' --exclude=__pycache__ --exclude=.hypothesis \
    --exclude=./.git --exclude=.pytest_cache --exclude=.mypy_cache --exclude=.ruff_cache \
    --exclude=./docs/_build -cf - . | tar -C "$copy" -xf -
export LIBBPF_PY_TARBALL="${LIBBPF_PY_TARBALL:-$(ls "$root"/vendor/download/libbpf_*.orig.tar.gz | head -1)}"
want=$(stamp_of)
if [ "$(cat "$copy/../.sanitized-$kind.stamp" 2>/dev/null)" != "$want" ] \
        || [ ! -f "$copy/../sanitized-$kind.so" ]; then
    echo "sanitized.sh: building libbpf and the module with -fsanitize=$LIBBPF_PY_SANITIZE" >&2
    rm -rf "$copy/vendor/build"
    (cd "$copy" && "$py" -c "import build_ffi; build_ffi.ffibuilder.compile(tmpdir='build/cffi')" \
        > "$root/build/sanitized-$kind.log" 2>&1) \
        || { tail -30 "$root/build/sanitized-$kind.log" >&2; exit 1; }
    cp "$(ls "$copy"/build/cffi/libbpf_py/_libbpf*.so "$copy"/build/cffi/_libbpf*.so 2>/dev/null | head -1)" \
        "$copy/../sanitized-$kind.so"
    echo "$want" > "$copy/../.sanitized-$kind.stamp"
fi
cp "$copy/../sanitized-$kind.so" "$copy/libbpf_py/_libbpf.abi3.so"
cd "$copy"
export PYTHONPATH="$copy"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:symbolize=1:${ASAN_OPTIONS:-}"
[ $# -gt 0 ] || set -- tests/reliability/test_teardown.py tests/reliability/test_concurrency.py \
    tests/reliability/test_soak.py tests/reliability/test_fuzz.py -k "not native" \
    -q -p no:cacheprovider
LD_PRELOAD="$runtime" exec "$py" -m pytest "$@"
