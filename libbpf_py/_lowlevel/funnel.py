"""The one error funnel: every libbpf return value passes through here.

Its verbs: :func:`check` and :func:`check_ptr` raise on a failed call and pass a good
result through; :func:`errno_of` reads the errno of a returned pointer; and
:func:`libbpf_error` builds (does not raise) the exception for an errno.
"""

from __future__ import annotations

from typing import Any

from libbpf_py._lowlevel.loader import ffi, lib
from libbpf_py.errors import BpfError, ObjectFormatError, error_from_errno

# libbpf's own error numbers (LIBBPF_ERRNO__*) start at 4000; these four mean the object
# itself is malformed.
_LIBBPF_ERRNO_START = 4000
_FORMAT_ERRNOS = {4000, 4001, 4003, 4005}  # LIBELF, FORMAT, ENDIAN, RELOC


def libbpf_error(err: int, action: str, *, hint: str = "") -> BpfError:
    """The library error (returned, for the caller to raise) for a positive errno that a
    libbpf call gave while doing ``action``; knows libbpf's own numbers (4000 and up)."""
    if err >= _LIBBPF_ERRNO_START:
        buf = ffi.new("char[]", 256)
        lib.libbpf_strerror(-err, buf, 256)
        text = f"{action}: {ffi.string(buf).decode(errors='replace')}" + (
            f"; {hint}" if hint else ""
        )
        if err in _FORMAT_ERRNOS:
            return ObjectFormatError(text, errno=err)
        return BpfError(text, errno=err)
    return error_from_errno(err, action, hint=hint)


def check(ret: int, action: str, *, hint: str = "") -> int:
    """Return ``ret`` if it is not negative, else raise the error for ``-ret``."""
    if ret < 0:
        raise libbpf_error(-ret, action, hint=hint)
    return ret


def errno_of(ptr: Any) -> int:
    """The positive errno of a pointer returned by libbpf, or 0 if it is valid."""
    if ptr == ffi.NULL:
        return ffi.errno or 22  # EINVAL when libbpf forgot to set errno
    if int(ffi.cast("uintptr_t", ptr)) >> 63:
        # No user-space pointer has the top bit set: this is an error code libbpf
        # encoded as a pointer without it being one of the errnos it checks for (seen:
        # bpf_object__open_mem on an extern whose BTF size overflows an int returned
        # ERR_PTR(-1627389951)). libbpf has already freed what it had made.
        return 22
    err = lib.libbpf_get_error(ptr)
    return int(-err) if err else 0


def check_ptr(ptr: Any, action: str, *, hint: str = "") -> Any:
    """Return ``ptr`` if libbpf returned a valid pointer, else raise from its errno."""
    err = errno_of(ptr)
    if err:
        raise libbpf_error(err, action, hint=hint)
    return ptr


__all__ = ["BpfError", "check", "check_ptr", "errno_of", "libbpf_error"]
