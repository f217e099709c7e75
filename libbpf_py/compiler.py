"""Phase 1, source: CO-RE compile BPF C with clang.

Objects are compiled with ``-g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86`` (clang
defaults to v1, which lacks atomics that return values), against the BPF headers of the
vendored libbpf and a ``vmlinux.h`` generated from the running kernel's BTF. Without an
explicit ``output`` the object goes into a cache keyed by everything that shapes it.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from libbpf_py.errors import CompileError, NotFound
from libbpf_py.explain import narrate
from libbpf_py.vmlinux import cache_dir, vmlinux_header

__all__ = ["BASE_CFLAGS", "compile", "find_clang", "include_dir"]

BASE_CFLAGS = ("-g", "-O2", "-target", "bpf", "-mcpu=v3")
_CLANG_NAMES = ("clang-19", "clang-20", "clang-21", "clang-18", "clang-17", "clang-16", "clang")
_ARCH = {"x86_64": "x86", "aarch64": "arm64", "s390x": "s390", "ppc64le": "powerpc",
         "riscv64": "riscv", "loongarch64": "loongarch"}


def include_dir() -> Path:
    """The folder holding the vendored libbpf's BPF headers (``bpf/bpf_helpers.h``, ...)."""
    return Path(__file__).resolve().parent / "include"


def find_clang(clang: str | None = None) -> str:
    """Return the clang to use: ``clang``, ``$LIBBPF_PY_CLANG``, or the first one on PATH."""
    candidates = [clang] if clang else [os.environ.get("LIBBPF_PY_CLANG") or "", *_CLANG_NAMES]
    for name in candidates:
        if name:
            found = shutil.which(name)
            if found:
                return found
    raise NotFound(f"no clang found (tried {', '.join(c for c in candidates if c)}): install "
                   "clang (Debian: apt-get install clang-19) or pass clang=")


def _source_of(source: str | os.PathLike[str]) -> tuple[str, Path | None]:
    if isinstance(source, os.PathLike) or ("\n" not in source and source.endswith(".c")):
        path = Path(source)
        try:
            return path.read_text(), path
        except FileNotFoundError:
            raise NotFound(f"no BPF source file at {path}") from None
    return str(source), None


def compile(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
    *,
    include_dirs: Sequence[str | os.PathLike[str]] = (),
    defines: Mapping[str, str | int | None] | None = None,
    cflags: Sequence[str] = (),
    clang: str | None = None,
) -> Path:
    """CO-RE compile BPF C ``source`` (a ``.c`` path, or C text) into a BPF ELF object.

    Returns the object's path: ``output`` if given, else a file in the cache. Raises
    :class:`~libbpf_py.errors.CompileError` with clang's diagnostics when it fails.
    Later flags in ``cflags`` override the defaults (``cflags=("-mcpu=v4",)``).
    """
    text, path = _source_of(source)
    compiler = find_clang(clang)
    arch = _ARCH.get(platform.machine(), platform.machine())
    multiarch = Path("/usr/include") / f"{platform.machine()}-linux-gnu"
    includes = [Path(d) for d in include_dirs]
    if path is not None:
        includes.insert(0, path.resolve().parent)
    includes += [vmlinux_header().parent, include_dir()]
    if multiarch.is_dir():
        includes.append(multiarch)
    define_flags = [f"-D__TARGET_ARCH_{arch}"]
    for key, value in (defines or {}).items():
        define_flags.append(f"-D{key}" if value is None else f"-D{key}={value}")
    flags = [*BASE_CFLAGS, *define_flags, *(f"-I{d}" for d in includes), *cflags]

    if output is None:
        key = hashlib.sha256("\0".join([compiler, text, *flags]).encode()).hexdigest()[:24]
        stem = path.name.removesuffix(".c") if path else "source"
        out = cache_dir() / "objects" / f"{stem}-{key}.o"
        if out.exists():
            return out
    else:
        out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="libbpf_py-cc-") as tmp:
        src_file = path if path is not None else Path(tmp) / "source.bpf.c"
        if path is None:
            src_file.write_text(text)
        partial = Path(tmp) / "out.o"
        command = [compiler, *flags, "-c", str(src_file), "-o", str(partial)]
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            raise CompileError(f"clang failed to compile {src_file}", diagnostics=proc.stderr,
                               command=command)
        shutil.move(str(partial), out)
    narrate(" ".join(command[:1] + list(BASE_CFLAGS) + ["...", str(src_file)]), f"wrote {out}",
            phase="source")
    return out
