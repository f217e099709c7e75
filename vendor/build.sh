#!/usr/bin/env bash
# Build the pinned libbpf as a static, position-independent library for the CFFI module.
#
# Output: vendor/build/usr/{include/bpf,lib64/libbpf.a} (git-ignored). Patches written for
# this project live in vendor/patches/*.patch and are applied in name order.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
. <(grep -E '^(VERSION|SHA256)=' "$here/libbpf.pin")
tarball="${LIBBPF_PY_TARBALL:-$here/download/libbpf_${VERSION}.orig.tar.gz}"
out="$here/build"
shopt -s nullglob
patches=("$here"/patches/*.patch)
stamp="$out/.built-$VERSION-$(cat /dev/null "${patches[@]}" | sha256sum | cut -c1-16)"

if [ -f "$stamp" ] && [ -f "$out/usr/lib64/libbpf.a" ]; then
    exit 0
fi
if [ ! -f "$tarball" ]; then
    echo "libbpf $VERSION is not fetched: run 'vendor/fetch.sh' first (or set LIBBPF_PY_TARBALL)" >&2
    exit 1
fi
echo "$SHA256  $tarball" | sha256sum --check --status \
    || { echo "build: $tarball does not match the pinned sha256" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/src"
tar xzf "$tarball" -C "$out/src" --strip-components=1
for p in "${patches[@]}"; do
    patch -d "$out/src" -p1 --quiet < "$p"
done
make -s -C "$out/src/src" -j"$(nproc)" BUILD_STATIC_ONLY=1 OBJDIR="$out/obj" DESTDIR="$out" \
    PREFIX=/usr LIBDIR=/usr/lib64 EXTRA_CFLAGS="-fPIC -O2 ${LIBBPF_PY_EXTRA_CFLAGS:-}" install >/dev/null
cp "$out/src/LICENSE.BSD-2-Clause" "$out/LICENSE.libbpf"
touch "$stamp"
echo "build: libbpf $VERSION built into $out"
