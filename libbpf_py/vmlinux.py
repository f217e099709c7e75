"""``vmlinux.h``: every type of the running kernel as C, generated from its BTF.

The header is written by the vendored libbpf's ``btf_dump`` and cached under the cache
folder, keyed by a hash of the kernel BTF, so a new kernel gets a new header.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from libbpf_py.errors import NotFound
from libbpf_py.explain import narrate

__all__ = ["KERNEL_BTF", "cache_dir", "vmlinux_header"]

KERNEL_BTF = Path("/sys/kernel/btf/vmlinux")


def cache_dir() -> Path:
    """The folder where libbpf_py caches generated headers and compiled objects.

    ``LIBBPF_PY_CACHE`` overrides it; else ``$XDG_CACHE_HOME/libbpf_py`` or
    ``~/.cache/libbpf_py``.
    """
    env = os.environ.get("LIBBPF_PY_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "libbpf_py"


def vmlinux_header(btf_path: str | os.PathLike[str] = KERNEL_BTF) -> Path:
    """Return the path of a ``vmlinux.h`` for the kernel BTF at ``btf_path``, making it once."""
    btf = Path(btf_path)
    try:
        digest = hashlib.sha256(btf.read_bytes()).hexdigest()[:16]
    except FileNotFoundError:
        raise NotFound(
            f"no kernel BTF at {btf}: this kernel was built without "
            "CONFIG_DEBUG_INFO_BTF, so CO-RE programs cannot be compiled for it "
            "(pass btf_path= with a BTF file for the target kernel)"
        ) from None
    folder = cache_dir() / "vmlinux" / digest
    header = folder / "vmlinux.h"
    if header.exists():
        return header
    folder.mkdir(parents=True, exist_ok=True)
    from libbpf_py._lowlevel import check, lib

    # Write beside the final name and rename, so a concurrent reader never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".h.tmp")
    os.close(fd)
    try:
        check(
            lib.lpy_write_btf_header(str(btf).encode(), tmp.encode()),
            f"generating vmlinux.h from {btf}",
        )
        os.chmod(tmp, 0o644)
        os.replace(tmp, header)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    narrate(
        f"btf__parse({str(btf)!r}) + btf_dump__dump_type(every id)",
        f"wrote {header}",
        phase="source",
    )
    return header
