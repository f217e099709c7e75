"""Threads inside C on one handle, so that ``close()`` never frees under them.

A reader (ring buffer, perf buffer) may be polled in one thread while another closes it.
libbpf frees the reader's memory at once, so the free waits until the last thread has
left C; and polling waits in short slices so that a poller notices the close promptly
and raises :class:`~libbpf_py.errors.PhaseError` instead of sleeping on.
"""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Callable

from libbpf_py._lowlevel.owner import Owner
from libbpf_py.errors import PhaseError

__all__ = ["InsideC", "poll_in_slices"]

SLICE_MS = 100


class InsideC:
    """Counts the threads inside C on one owner; runs its free when the last one leaves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._pending: Callable[[], None] | None = None

    def enter(self, owner: Owner, what: str) -> None:
        """Register a thread about to call into C; raises PhaseError if ``owner`` is closed."""
        with self._lock:
            owner._require_open(what)
            self._count += 1

    def leave(self) -> None:
        """The thread is out of C; if a close came meanwhile and it was the last, free now."""
        with self._lock:
            self._count -= 1
            run, self._pending = (
                (self._pending, None) if self._count == 0 else (None, self._pending)
            )
        if run is not None:
            run()

    def release(self, free: Callable[[], None]) -> None:
        """Free now, or when the last thread inside C leaves."""
        with self._lock:
            if self._count:
                self._pending = free
                return
        free()


def poll_in_slices(
    owner: Owner,
    call: Callable[[int], int],
    timeout: float | None,
    failed: Callable[[], bool],
    what: str,
) -> int:
    """Call ``call(ms)`` until it returns non-zero, ``timeout`` passes or ``owner`` closes.

    ``call`` is a libbpf poll taking milliseconds; ``failed`` says whether a callback
    raised (then its result is returned at once for the caller to re-raise). A signal
    handler that raises (Ctrl-C) runs between slices.
    """
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
    while True:
        if deadline is None:
            ms = SLICE_MS
        else:
            ms = max(0, min(SLICE_MS, int((deadline - time.monotonic()) * 1000 + 0.999)))
        ret = call(ms)
        if owner.closed:
            raise PhaseError(
                f"{what}: {type(owner).__name__} was closed by another thread "
                "while this one polled it",
                phase="closed",
                needed="open",
            )
        if failed() or (ret != 0 and ret != -errno.EINTR):
            return ret
        if deadline is not None and time.monotonic() >= deadline:
            return 0
