"""Build the CFFI module ``libbpf_py._libbpf`` against the vendored, pinned libbpf.

Importing this file does nothing: setup.py's ``build_ext`` calls :func:`make_ffi` (which
builds libbpf first), so reading the package's metadata never compiles. ``python
build_ffi.py`` builds the module in place, without setuptools.

The declarations are read from ``csrc/cdef/*.h`` in the order of their numeric name
prefixes (``00-types.h`` before ``10-bpf.h`` ...); the C helpers ``csrc/*.c`` are compiled
into the same module, in name order. Structs and constants both sides use are written once,
in the headers ``csrc/*.h`` (see ``cdef_text``).

Environment:
- ``LIBBPF_PY_SYSTEM_LIBBPF=1`` links the system libbpf (found with pkg-config) instead
  of the vendored one; it must be at least the pinned version.
- ``LIBBPF_PY_SANITIZE=address`` builds the C parts with AddressSanitizer.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parent
CSRC = ROOT / "csrc"
CDEF_DIR = CSRC / "cdef"
CDEF_FILES = sorted(p.name for p in CDEF_DIR.glob("[0-9][0-9]-*.h"))
C_SOURCES = sorted(CSRC.glob("*.c"))
VENDOR = ROOT / "vendor"
PACKAGE = ROOT / "libbpf_py"


def pinned_version() -> str:
    text = (VENDOR / "libbpf.pin").read_text()
    match = re.search(r"^VERSION=(\S+)$", text, re.M)
    if not match:
        raise SystemExit("vendor/libbpf.pin has no VERSION= line")
    return match.group(1)


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(".")[:2])


def vendored_paths() -> tuple[list[str], list[str], list[str]]:
    """Build the vendored libbpf if needed; return include dirs, extra objects, libs."""
    build = VENDOR / "build"
    built = (build / "usr" / "lib64" / "libbpf.a").exists() and any(build.glob(".built-*"))
    fetched = (VENDOR / "download").exists() or os.environ.get("LIBBPF_PY_TARBALL")
    if not built and not fetched:
        raise SystemExit(
            "libbpf_py: the pinned libbpf is not fetched; run 'vendor/fetch.sh' first "
            "(or set LIBBPF_PY_TARBALL=/path/to/libbpf_X.orig.tar.gz)"
        )
    subprocess.run([str(VENDOR / "build.sh")], check=True)
    include = [str(build / "src" / "include" / "uapi"), str(build / "usr" / "include")]
    return include, [str(build / "usr" / "lib64" / "libbpf.a")], ["elf", "z"]


def system_paths(pinned: str) -> tuple[list[str], list[str], list[str]]:
    """Use the system libbpf through pkg-config, refusing one older than the pin."""
    try:
        version = subprocess.run(
            ["pkg-config", "--modversion", "libbpf"], check=True, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise SystemExit(
            "libbpf_py: LIBBPF_PY_SYSTEM_LIBBPF=1 but pkg-config finds no libbpf"
        ) from None
    if _version_tuple(version) < _version_tuple(pinned):
        raise SystemExit(
            f"libbpf_py: the system libbpf is {version}, older than the pinned "
            f"{pinned}; unset LIBBPF_PY_SYSTEM_LIBBPF to use the vendored one"
        )
    cflags = subprocess.run(
        ["pkg-config", "--cflags-only-I", "libbpf"], check=True, capture_output=True, text=True
    ).stdout.split()
    return [f[2:] for f in cflags], [], ["bpf", "elf", "z"]


def copy_package_data(include_dirs: list[str]) -> None:
    """Ship the BPF-side headers and libbpf's licence inside the package for compile()."""
    dest = PACKAGE / "include"
    for sub in ("bpf", "linux"):
        shutil.rmtree(dest / sub, ignore_errors=True)
        (dest / sub).mkdir(parents=True, exist_ok=True)
    for inc in include_dirs:
        for sub in ("bpf", "linux"):
            src = Path(inc) / sub
            if src.is_dir():
                for header in src.glob("*.h"):
                    shutil.copy2(header, dest / sub / header.name)
    licence = VENDOR / "build" / "LICENSE.libbpf"
    if licence.exists():
        shutil.copy2(licence, PACKAGE / "LICENSE.libbpf")


# Structs and constants shared by C and Python live once in csrc/*.h: the C sources
# #include them, and a cdef file's `#include "events.h"` line is replaced by the header
# minus its preprocessor lines (cdef takes none), each `#define NAME value` becoming
# `#define NAME ...` for the compiler to fill in. Hence no multi-line macros there.
_SHARED_INCLUDE = re.compile(r'^#include "([^"/]+\.h)"[ \t]*$', re.M)
_DEFINE = re.compile(r"#\s*define\s+(\w+)\s+\S")


def cdef_text(path: Path) -> str:
    """The declarations of one cdef file, with the shared headers it names inlined."""
    return _SHARED_INCLUDE.sub(lambda m: _shared_declarations(CSRC / m.group(1)), path.read_text())


def _shared_declarations(header: Path) -> str:
    lines = []
    for line in header.read_text().splitlines():
        if line.rstrip().endswith("\\"):
            raise SystemExit(f"{header}: a shared header cannot hold multi-line macros")
        define = _DEFINE.match(line.strip())
        if define:
            lines.append(f"#define {define.group(1)} ...")
        elif not line.lstrip().startswith("#"):
            lines.append(line)
    return "\n".join(lines)


def make_ffi() -> FFI:
    """The FFI of ``libbpf_py._libbpf``, its source set; builds the vendored libbpf first."""
    pinned = pinned_version()
    if os.environ.get("LIBBPF_PY_SYSTEM_LIBBPF") == "1":
        include_dirs, extra_objects, libraries = system_paths(pinned)
    else:
        include_dirs, extra_objects, libraries = vendored_paths()
    copy_package_data(include_dirs)
    # The one place the version is written: the package's own __version__ line.
    package_version = re.search(
        r'^__version__ = "([^"]+)"', (PACKAGE / "__init__.py").read_text(), re.M
    )
    assert package_version is not None

    ffi = FFI()
    for name in CDEF_FILES:
        ffi.cdef(cdef_text(CDEF_DIR / name))
    ffi.cdef("const char *lpy_package_version(void);\nconst char *lpy_pinned_libbpf(void);")
    source = "\n".join(
        [
            "#include <elf.h>",
            "#include <sched.h>",
            "#include <sys/socket.h>",
            "#include <linux/bpf.h>",
            "#include <linux/if_ether.h>",
            "#include <linux/netfilter.h>",
            "#include <linux/perf_event.h>",
            "#include <linux/if.h>",
            "#include <linux/rtnetlink.h>",
            "#include <bpf/bpf.h>",
            "#include <bpf/btf.h>",
            "#include <bpf/libbpf.h>",
            "static const char *lpy_package_version(void) "
            f'{{ return "{package_version.group(1)}"; }}',
            f'static const char *lpy_pinned_libbpf(void) {{ return "{pinned}"; }}',
            *(path.read_text() for path in C_SOURCES),
        ]
    )
    extra_compile_args = ["-O2", "-Wno-unused-function"]
    extra_link_args: list[str] = []
    sanitize = os.environ.get("LIBBPF_PY_SANITIZE")
    if sanitize:
        extra_compile_args += [f"-fsanitize={sanitize}", "-fno-omit-frame-pointer", "-O1"]
        extra_link_args += [f"-fsanitize={sanitize}"]
    ffi.set_source(
        "libbpf_py._libbpf",
        source,
        # The wheel is abi3 from 3.11 on. CFFI alone would define Py_LIMITED_API with no
        # version (the oldest stable ABI), hiding what csrc/ uses from 3.11's: vectorcall
        # methods, heap types with buffer slots (PyType_FromSpec), Py_buffer.
        define_macros=[("Py_LIMITED_API", "0x030B0000")],
        include_dirs=[*include_dirs, str(CSRC)],
        extra_objects=extra_objects,
        libraries=libraries,
        extra_compile_args=extra_compile_args,
        extra_link_args=extra_link_args,
    )
    return ffi


if __name__ == "__main__":
    make_ffi().compile(tmpdir=str(ROOT / "build" / "cffi"), verbose="-v" in sys.argv)
