"""The one error funnel: every libbpf return value passes through here."""

from __future__ import annotations

from typing import Any

from libbpf_py._lowlevel.loader import ffi, lib
from libbpf_py.errors import BpfError, error_from_errno


def check(ret: int, action: str, *, hint: str = "") -> int:
    """Return ``ret`` if it is not negative, else raise the error for ``-ret``."""
    if ret < 0:
        raise error_from_errno(-ret, action, hint=hint)
    return ret


def errno_of(ptr: Any) -> int:
    """The positive errno of a pointer returned by libbpf, or 0 if it is valid."""
    if ptr == ffi.NULL:
        return ffi.errno or 22  # EINVAL when libbpf forgot to set errno
    err = lib.libbpf_get_error(ptr)
    return int(-err) if err else 0


def check_ptr(ptr: Any, action: str, *, hint: str = "") -> Any:
    """Return ``ptr`` if libbpf returned a valid pointer, else raise from its errno."""
    err = errno_of(ptr)
    if err:
        raise error_from_errno(err, action, hint=hint)
    return ptr


__all__ = ["BpfError", "check", "check_ptr", "errno_of"]
