"""Phase 1, continued: link several compiled BPF objects into one (libbpf's static linker).

What ``bpftool gen object OUT A.o B.o`` does: the programs, maps, global variables and
BTF of every input end up in one object, ``extern`` declarations in one input resolve to
the definitions in another, and the result opens, loads and runs like an object compiled
from all the sources at once. libbpf explains a refused input only in its warnings, so
those are captured and become the error's message.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

from libbpf_py._lowlevel import capture_warnings, errno_of, ffi, lib, libbpf_error
from libbpf_py.errors import BpfError, NotFound, ObjectFormatError
from libbpf_py.explain import narrate

__all__ = ["link_objects"]

# One input: a compiled object's path, or its bytes.
ObjectInput = str | os.PathLike[str] | bytes


@overload
def link_objects(objects: Sequence[ObjectInput], output: None = None) -> bytes: ...


@overload
def link_objects(objects: Sequence[ObjectInput], output: str | os.PathLike[str]) -> Path: ...


def link_objects(
    objects: Sequence[ObjectInput], output: str | os.PathLike[str] | None = None
) -> Path | bytes:
    """Link compiled BPF objects (paths or ``bytes``) into one object.

    With ``output``, the linked object is written there (replacing the file only once the
    link succeeded) and its path returned; without, its bytes are returned. A refused
    input (not a BPF ELF object, two strong definitions of one symbol, an ``extern``
    whose types disagree) raises :class:`~libbpf_py.errors.ObjectFormatError` quoting
    libbpf's reason; a missing file raises :class:`~libbpf_py.errors.NotFound`.
    """
    if isinstance(objects, str | bytes | os.PathLike):
        raise TypeError("link_objects takes a list of objects (paths or bytes), not a single one")
    inputs = list(objects)
    if not inputs:
        raise ValueError("link_objects needs at least one object")
    for item in inputs:
        if not isinstance(item, bytes | str | os.PathLike):
            raise TypeError(
                f"link_objects: an object is a path or bytes, not {type(item).__name__}"
            )
        if not isinstance(item, bytes) and not Path(item).is_file():
            raise NotFound(f"link_objects: no such object file: {os.fspath(item)}")
    if output is None:
        return _link_to_memory(inputs)
    return _link_to_file(inputs, Path(output))


def _link_to_memory(inputs: list[ObjectInput]) -> bytes:
    fd = os.memfd_create("libbpf_py-linked", os.MFD_CLOEXEC)
    try:
        _link(inputs, fd, "memory")
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _link_to_file(inputs: list[ObjectInput], output: Path) -> Path:
    # Into a temporary file beside the output, renamed over it only once the link
    # succeeded: a failed link leaves neither a half-written object nor a clobbered one.
    directory = output.parent if str(output.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=directory)
    try:
        _link(inputs, fd, str(output))
        os.fchmod(fd, 0o644)
        os.close(fd)
        fd = -1
        os.replace(tmp, output)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
    return output


def _link(inputs: list[ObjectInput], fd: int, where: str) -> None:
    names = [_name(item, i) for i, item in enumerate(inputs)]
    with capture_warnings() as warnings:
        linker = lib.bpf_linker__new_fd(fd, ffi.NULL)
        err = errno_of(linker)
        if err:
            raise libbpf_error(err, "starting libbpf's linker")
        try:
            for item, name in zip(inputs, names, strict=True):
                del warnings[:]
                ret = _add(linker, item)
                if ret < 0:
                    raise _refused(-ret, f"linking {name}", warnings)
            del warnings[:]
            ret = lib.bpf_linker__finalize(linker)
            if ret < 0:
                raise _refused(-ret, f"finishing the link of {', '.join(names)}", warnings)
        finally:
            lib.bpf_linker__free(linker)
    narrate(
        f"bpf_linker__add_*({', '.join(names)}); bpf_linker__finalize()",
        f"one object, in {where}",
        phase="compile",
    )


def _add(linker: Any, item: ObjectInput) -> int:
    if isinstance(item, bytes):
        # libbpf copies the buffer (into a memfd of its own) before reading it.
        buf = ffi.from_buffer(item)
        return int(lib.bpf_linker__add_buf(linker, buf, len(item), ffi.NULL))
    return int(lib.bpf_linker__add_file(linker, os.fsencode(item), ffi.NULL))


def _name(item: ObjectInput, index: int) -> str:
    if isinstance(item, bytes):
        return f"object #{index + 1} ({len(item)} bytes)"
    return os.fspath(item)


def _refused(err: int, what: str, warnings: list[str]) -> BpfError:
    reason = "; ".join(w for w in warnings if w) or os.strerror(err)
    if err in (
        errno.EINVAL,
        errno.EOPNOTSUPP,
        errno.ENOTSUP,
        errno.EPROTO,
        errno.ENOEXEC,
        errno.EBADMSG,
    ):
        return ObjectFormatError(f"{what}: libbpf's linker refused it: {reason}", errno=err)
    return libbpf_error(err, f"{what}: {reason}")
