#!/usr/bin/env bash
# Fetch the pinned libbpf release tarball with Debian's ordinary source client.
#
# The upstream release tarball is Debian's "orig" tarball, so any Debian revision of the
# pinned version carries byte-identical sources. We add a deb-src entry for the suites
# that carry it, built from the archive URI this machine's apt is already configured
# with, update that entry alone into a private lists folder, and download the source.
#
# LIBBPF_PY_TARBALL=/path/to/libbpf_X.orig.tar.gz skips the download (offline builds).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
. <(grep -E '^(VERSION|SHA256)=' "$here/libbpf.pin")
dest="$here/download"
tarball="$dest/libbpf_${VERSION}.orig.tar.gz"
suites="${LIBBPF_PY_SUITES:-sid forky}"
mkdir -p "$dest"

verify() {
    echo "$SHA256  $1" | sha256sum --check --status
}

if [ -n "${LIBBPF_PY_TARBALL:-}" ]; then
    verify "$LIBBPF_PY_TARBALL" || { echo "fetch: $LIBBPF_PY_TARBALL does not match the pinned sha256 $SHA256" >&2; exit 1; }
    [ "$(realpath "$LIBBPF_PY_TARBALL")" = "$(realpath -m "$tarball")" ] || cp "$LIBBPF_PY_TARBALL" "$tarball"
    echo "fetch: using local tarball for libbpf $VERSION"
    exit 0
fi
if [ -f "$tarball" ] && verify "$tarball"; then
    echo "fetch: libbpf $VERSION already fetched and verified ($tarball)"
    exit 0
fi

command -v apt-get >/dev/null || { echo "fetch: apt-get not found; set LIBBPF_PY_TARBALL to a local libbpf_${VERSION}.orig.tar.gz" >&2; exit 1; }

# The archive URI comes from the machine's own apt configuration, never from this repo.
uri=""
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk '/^URIs:/ {print $2; exit}' "$f")
    [ -n "$uri" ] && case "$uri" in *security*) uri="";; *) break;; esac
done
if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
fi
[ -n "$uri" ] || { echo "fetch: no Debian archive URI found in the apt configuration" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial"
cat > "$work/src.sources" <<SRC
Types: deb-src
URIs: $uri
Suites: $suites
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
apt_opts=(-o "Dir::Etc::SourceList=$work/src.sources" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$work/lists" -o APT::Sandbox::User=root)
echo "fetch: reading source package lists for suites: $suites"
apt-get "${apt_opts[@]}" update -qq >"$work/update.log" 2>&1 || { cat "$work/update.log" >&2; exit 1; }

# Versions carry a Debian revision (1.7.0-1); any revision carries the same orig tarball.
versions=$(apt-cache "${apt_opts[@]}" showsrc libbpf 2>/dev/null | awk '/^Version:/ {print $2}' | sort -u)
pick=$(printf '%s\n' $versions | grep -E "^([0-9]+:)?${VERSION//./\\.}-" | head -n 1 || true)
if [ -z "$pick" ]; then
    echo "fetch: no suite of ($suites) carries libbpf $VERSION any more; versions found: $(echo $versions)" >&2
    echo "fetch: re-pin in vendor/libbpf.pin, or set LIBBPF_PY_TARBALL" >&2
    exit 1
fi
pick=${pick#*:}  # apt-get source takes the version without its epoch
(cd "$work" && apt-get "${apt_opts[@]}" source --download-only -qq "libbpf=$pick" >"$work/source.log" 2>&1) \
    || { cat "$work/source.log" >&2; exit 1; }
verify "$work/libbpf_${VERSION}.orig.tar.gz" || { echo "fetch: checksum mismatch for libbpf_${VERSION}.orig.tar.gz" >&2; exit 1; }
mv "$work/libbpf_${VERSION}.orig.tar.gz" "$tarball"
echo "fetch: libbpf $VERSION ($pick) fetched and verified into $tarball"
