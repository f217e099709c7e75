"""The ``struct bpf_object *`` shared by an OpenObject and, after load, its LoadedObject."""

from __future__ import annotations

import threading
from typing import Any

from libbpf_py._lowlevel import ffi, lib
from libbpf_py.explain import narrate


class BpfObjectHandle:
    """Owns one ``struct bpf_object *`` and the ELF bytes libbpf reads from.

    libbpf parses the object from our buffer without copying it, so the buffer lives as
    long as the pointer. One lock serialises open/load/close of this object, which
    libbpf does not make thread-safe.
    """

    def __init__(self, ptr: Any, buffer: Any, name: str) -> None:
        self.ptr = ptr
        self.buffer = buffer
        self.name = name
        self.lock = threading.RLock()

    @property
    def alive(self) -> bool:
        """Whether the pointer is still valid."""
        return self.ptr is not None

    def close(self) -> None:
        """Free the object: unload its programs, destroy its maps. Idempotent."""
        with self.lock:
            if self.ptr is None:
                return
            ptr, self.ptr = self.ptr, None
            lib.bpf_object__close(ptr)
            self.buffer = None
            narrate(
                f"bpf_object__close({self.name!r})",
                "programs unloaded, maps freed",
                phase="tear down",
            )


def c_string(ptr: Any) -> str:
    """Decode a C string libbpf owns, or "" for NULL."""
    if ptr == ffi.NULL:
        return ""
    return str(ffi.string(ptr).decode("utf-8", "replace"))
