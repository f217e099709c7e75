#!/usr/bin/env bash
# Coverage-guided fuzzing of the pinned libbpf's object parser, in C, with ASan.
#
#   tests/reliability/fuzz/native.sh [libFuzzer options] [CORPUS...]
#
# Builds the vendored libbpf with -fsanitize=fuzzer-no-link,address into
# build/fuzz-native/ (the work tree's own build is untouched) and links
# open_mem_fuzzer.c against it. Crashes are written as build/fuzz-native/crash-*;
# test_fuzz.py replays each file kept under tests/reliability/regressions/open/ through
# libbpf_py's open(), which must refuse it cleanly.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out="$root/build/fuzz-native"
. <(grep -E '^(VERSION)=' "$root/vendor/libbpf.pin")
tarball="${LIBBPF_PY_TARBALL:-$root/vendor/download/libbpf_${VERSION}.orig.tar.gz}"
flags="-fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer -g -O1"
if [ ! -f "$out/usr/lib64/libbpf.a" ]; then
    rm -rf "$out" && mkdir -p "$out/src"
    tar xzf "$tarball" -C "$out/src" --strip-components=1
    shopt -s nullglob
    for p in "$root"/vendor/patches/*.patch; do patch -d "$out/src" -p1 --quiet < "$p"; done
    make -s -C "$out/src/src" -j"$(nproc)" CC=clang-19 BUILD_STATIC_ONLY=1 OBJDIR="$out/obj" \
        DESTDIR="$out" PREFIX=/usr LIBDIR=/usr/lib64 EXTRA_CFLAGS="$flags" install >/dev/null
fi
if [ ! -x "$out/open_mem_fuzzer" ] || [ "$here/open_mem_fuzzer.c" -nt "$out/open_mem_fuzzer" ]; then
    clang-19 -fsanitize=fuzzer,address -g -O1 -I"$out/usr/include" \
        -I"$out/src/include/uapi" "$here/open_mem_fuzzer.c" "$out/usr/lib64/libbpf.a" \
        -lelf -lz -o "$out/open_mem_fuzzer"
fi
cd "$out"
exec ./open_mem_fuzzer "$@"
