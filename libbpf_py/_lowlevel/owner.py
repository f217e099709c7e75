"""What every owner of a kernel or libbpf resource shares: close(), ``with``, warnings."""

from __future__ import annotations

import contextlib
import warnings
from types import TracebackType
from typing import Any, Protocol, Self

from libbpf_py.errors import PhaseError


class Closing:
    """``with`` for anything that has ``close()``: leaving the block closes it."""

    def close(self) -> None:
        """Release what this handle holds."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Owner(Closing):
    """Base of the classes that own a resource: idempotent ``close()`` and ``with``.

    Subclasses implement :meth:`_release`. An owner collected while still open emits
    ``ResourceWarning`` (like an unclosed file) and is released then — a safety net,
    not the way to close things.
    """

    _phase_name = "open"
    _closed = True  # until a subclass's __init__ finishes, there is nothing to release

    def _release(self) -> None:
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        """Whether this handle has been closed (or handed over to the next phase)."""
        return self._closed

    def close(self) -> None:
        """Release what this handle owns. Calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        self._release()

    def _require_open(self, needed: str) -> None:
        if self._closed:
            raise PhaseError(
                f"{type(self).__name__} is {self._closed_phase()}; {needed} needs an open one",
                phase=self._closed_phase(), needed=self._phase_name)

    def _closed_phase(self) -> str:
        return "closed"

    def __del__(self) -> None:
        if not self._closed:
            warnings.warn(f"unclosed {self!r}: close it or use a with block",
                          ResourceWarning, stacklevel=2, source=self)
            with contextlib.suppress(Exception):  # never raise from a finalizer
                self.close()


class ParentObject(Protocol):
    """What a program, map or link needs of the object it came from.

    The object classes sit in a layer above their children, so the children name
    their parent by this shape rather than by importing it.
    """

    _closed: bool

    @property
    def closed(self) -> bool:
        """Whether the object has been closed."""
        ...

    @property
    def name(self) -> str:
        """The object's name."""
        ...

    def _track(self, link: Any) -> None:
        """Keep ``link`` until the object closes, then destroy it first."""
        ...
