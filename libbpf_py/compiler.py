"""Phase 1, source: CO-RE compile BPF C with clang.

Objects are compiled with ``-g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86`` (clang
defaults to v1, which lacks atomics that return values), against the BPF headers of the
vendored libbpf and a ``vmlinux.h`` generated from a kernel's BTF: the running kernel's
by default, or the one ``btf=`` (or ``$LIBBPF_PY_BTF``) names. CO-RE relocates the
object on whichever kernel loads it, so one compile against one rich BTF serves every
kernel. Every object goes through a cache keyed by everything that shapes it; an explicit
``output`` gets a copy.
"""

from __future__ import annotations

import hashlib
import json
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

__all__ = ["BASE_CFLAGS", "BTF_ENV", "compile", "find_clang", "include_dir", "resolve_btf"]

#: The environment variable that sets ``compile()``'s default ``btf``.
BTF_ENV = "LIBBPF_PY_BTF"

BASE_CFLAGS = ("-g", "-O2", "-target", "bpf", "-mcpu=v3")
_CLANG_NAMES = ("clang-19", "clang-20", "clang-21", "clang-18", "clang-17", "clang-16", "clang")
_ARCH = {
    "x86_64": "x86",
    "aarch64": "arm64",
    "s390x": "s390",
    "ppc64le": "powerpc",
    "riscv64": "riscv",
    "loongarch64": "loongarch",
}


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
    raise NotFound(
        f"no clang found (tried {', '.join(c for c in candidates if c)}): install "
        "clang (Debian: apt-get install clang-19) or pass clang="
    )


def _source_of(source: str | os.PathLike[str]) -> tuple[str, Path | None]:
    if isinstance(source, os.PathLike) or ("\n" not in source and source.endswith(".c")):
        path = Path(source)
        try:
            return path.read_text(), path
        except FileNotFoundError:
            raise NotFound(f"no BPF source file at {path}") from None
    return str(source), None


def resolve_btf(btf: str | os.PathLike[str] | None = None) -> Path:
    """The BTF file a compile reads its ``vmlinux.h`` from.

    ``btf`` is a path to a raw BTF file or an ELF file with a ``.BTF`` section (an
    uncompressed ``vmlinux``); ``"running"`` for the running kernel's
    ``/sys/kernel/btf/vmlinux``; or a Debian kernel version (``"6.12"``,
    ``"6.12.117+deb13-amd64"``), whose package is fetched and cached once by
    :func:`libbpf_py.kernels.fetch_kernel_btf`. ``None`` means ``$LIBBPF_PY_BTF`` when set,
    else the running kernel.
    """
    if btf is None:
        btf = os.environ.get(BTF_ENV) or "running"
    if (
        isinstance(btf, str)
        and (btf == "running" or _looks_like_version(btf))
        and not os.path.exists(btf)
    ):
        from libbpf_py.kernels import fetch_kernel_btf

        return fetch_kernel_btf(btf)
    path = Path(btf)
    if not path.is_file():
        raise NotFound(
            f'no BTF file at {path}: pass a BTF or vmlinux file, "running", or a '
            'Debian kernel version such as "6.12"'
        )
    return path


def _looks_like_version(text: str) -> bool:
    head, _, _ = text.partition(".")
    return head.isdigit() and "/" not in text and "." in text


def compile(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
    *,
    include_dirs: Sequence[str | os.PathLike[str]] = (),
    defines: Mapping[str, str | int | None] | None = None,
    cflags: Sequence[str] = (),
    clang: str | None = None,
    btf: str | os.PathLike[str] | None = None,
) -> Path:
    """CO-RE compile BPF C ``source`` (a ``.c`` path, or C text) into a BPF ELF object.

    Returns the object's path: ``output`` if given, else a file in the cache. ``btf``
    chooses the kernel types ``vmlinux.h`` holds (see :func:`resolve_btf`): the running
    kernel by default, or one fixed BTF, so that the same object is built wherever it is
    compiled and CO-RE adapts it to each kernel that loads it. Raises
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
    btf_path = resolve_btf(btf)
    includes += [vmlinux_header(btf_path).parent, include_dir()]
    if multiarch.is_dir():
        includes.append(multiarch)
    define_flags = [f"-D__TARGET_ARCH_{arch}"]
    for key, value in (defines or {}).items():
        define_flags.append(f"-D{key}" if value is None else f"-D{key}={value}")
    flags = [*BASE_CFLAGS, *define_flags, *(f"-I{d}" for d in includes), *cflags]

    key = hashlib.sha256("\0".join([compiler, text, *flags]).encode()).hexdigest()[:24]
    stem = path.name.removesuffix(".c") if path else "source"
    cached = cache_dir() / "objects" / f"{stem}-{key}.o"
    out = cached if output is None else Path(output)
    if _still_valid(cached):
        if out != cached:
            _copy_into_place(cached, out)
        return out
    cached.parent.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="libbpf_py-cc-") as tmp:
        src_file = path if path is not None else Path(tmp) / "source.bpf.c"
        if path is None:
            src_file.write_text(text)
        partial = Path(tmp) / "out.o"
        depfile = Path(tmp) / "out.d"
        command = [compiler, *flags, "-c", str(src_file), "-o", str(partial)]
        proc = subprocess.run(
            [*command, "-MD", "-MF", str(depfile)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise CompileError(
                f"clang failed to compile {src_file}", diagnostics=proc.stderr, command=command
            )
        _copy_into_place(partial, cached)
        _record_inputs(cached, depfile, skip={src_file})
    if out != cached:
        _copy_into_place(cached, out)
    narrate(
        " ".join(command[:1] + list(BASE_CFLAGS) + ["...", str(src_file)]),
        f"wrote {out}",
        phase="source",
    )
    return out


def _inputs_file(cached: Path) -> Path:
    return cached.with_suffix(".inputs.json")


def _digest(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


def _record_inputs(cached: Path, depfile: Path, skip: set[Path]) -> None:
    # The cache key covers the source text and the flags, not the headers it includes:
    # remember each header's digest, so an edited header makes the object stale. The
    # generated vmlinux.h is left out, its folder (in the flags) is named by its BTF.
    text = depfile.read_text().replace("\\\n", " ")
    names = text.partition(":")[2].split()
    inputs = {
        name: _digest(name)
        for name in names
        if Path(name) not in skip and Path(name).name != "vmlinux.h"
    }
    # A name of this writer's own: guests sharing the cache compile side by side, and
    # their process ids may be the same.
    tmp = _inputs_file(cached).with_suffix(f".{os.urandom(6).hex()}.tmp")
    tmp.write_text(json.dumps(inputs, sort_keys=True))
    os.replace(tmp, _inputs_file(cached))


def _still_valid(cached: Path) -> bool:
    try:
        inputs = json.loads(_inputs_file(cached).read_text())
    except (OSError, ValueError):
        return False
    return cached.exists() and all(_digest(name) == digest for name, digest in inputs.items())


def _copy_into_place(src: Path, dest: Path) -> None:
    # Copy beside the final name and rename, so a concurrent reader (another test process,
    # a guest kernel sharing the cache) never sees half an object.
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
