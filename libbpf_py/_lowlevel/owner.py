"""What every owner of a kernel or libbpf resource shares: close(), ``with``, warnings,
and the one type for a handle's file descriptor (:class:`Fd`), owned or borrowed."""

from __future__ import annotations

import contextlib
import os
import warnings
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self

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
    not the way to close things. A handle whose resource is not its own to leak (a
    :class:`BorrowedFd`, a link let go with ``disconnect()``) says so in
    :meth:`_warns_when_dropped`, and is released without a warning.
    """

    _phase_name = "open"
    # The class name errors give: a private subclass names the public class instead.
    _type_name = ""
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
                f"{self._type_name or type(self).__name__} is {self._closed_phase()}; "
                f"{needed} needs an open one",
                phase=self._closed_phase(),
                needed=self._phase_name,
            )

    def _closed_phase(self) -> str:
        return "closed"

    def _warns_when_dropped(self) -> bool:
        """Whether collecting this handle open is a leak worth a ``ResourceWarning``
        (False for a handle whose resource its parent object owns)."""
        return True

    def __del__(self) -> None:
        if not self._closed:
            if self._warns_when_dropped():
                warnings.warn(
                    f"unclosed {self!r}: close it or use a with block",
                    ResourceWarning,
                    stacklevel=2,
                    source=self,
                )
            with contextlib.suppress(Exception):  # never raise from a finalizer
                self.close()


class Fd:
    """A handle's file descriptor, and who closes it: the handle or its parent object.

    :class:`OwnedFd` is the handle's own (a standalone program or map, a link): the
    handle's ``close()`` closes it, ``disown()`` hands it to the caller, and a handle
    collected with it open emits ``ResourceWarning``. :class:`BorrowedFd` belongs to the
    object the handle came from (a program or map of a ``LoadedObject``): it lives while
    that object is open, and the object closes it. Which one a handle holds is decided
    once, when it is made; nothing asks again.
    """

    __slots__ = ("number",)

    #: Whether the handle holding this fd closes it.
    owned: ClassVar[bool]
    #: The object this fd belongs to, for a borrowed one.
    parent: ParentObject | None = None

    def __init__(self, number: int) -> None:
        # -1: none, because it was closed or handed off, or never made (a program whose
        # autoload was off has no fd).
        self.number = number

    @property
    def closed(self) -> bool:
        """Whether the fd may no longer be used."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop using the fd, closing it if it is this handle's own. Idempotent."""
        raise NotImplementedError

    def disown(self, what: str) -> int:
        """Hand the fd over: the caller closes it from now on; this one is then closed.

        ``what`` names the handle in the error a borrowed or closed fd raises.
        """
        raise NotImplementedError

    @property
    def why_closed(self) -> str:
        """Why a closed fd may not be used, as the end of a sentence naming its handle."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.number}>"


class OwnedFd(Fd):
    """An fd its handle owns: closed by ``close()``, handed over by ``disown()``.

    It remembers the process that made it: :attr:`inherited` is true in a forked child,
    where the fd is a copy of the parent's and whatever it stands for (an attachment,
    a perf event) is still the parent's.
    """

    __slots__ = ("_disowned", "_forks")
    owned = True

    def __init__(self, number: int) -> None:
        super().__init__(number)
        self._disowned = False
        self._forks = _forks[0]

    @property
    def closed(self) -> bool:
        """Whether the fd was closed or handed over."""
        return self.number < 0

    @property
    def inherited(self) -> bool:
        """Whether this process is a fork of the one that made the fd."""
        return _forks[0] != self._forks

    def close(self) -> None:
        """Close the fd (once; later calls do nothing)."""
        number, self.number = self.number, -1
        if number >= 0:
            os.close(number)

    def disown(self, what: str) -> int:
        """Return the fd and forget it: closing it is the caller's job from now on."""
        if self.number < 0:
            raise PhaseError(
                f"{what} {self.why_closed}: it has no fd to hand over",
                phase="closed",
                needed="open",
            )
        number, self.number = self.number, -1
        self._disowned = True
        return number

    @property
    def why_closed(self) -> str:
        """Why the fd may not be used: closed, or handed over."""
        return "was handed over by disown()" if self._disowned else "was closed"


class BorrowedFd(Fd):
    """An fd that belongs to the object its handle came from.

    It lives while :attr:`parent` is open, and the parent closes it: the handle's
    ``close()`` does nothing, and ``disown()`` is refused, since the fd is not the
    handle's to give.
    """

    __slots__ = ("parent",)
    owned = False
    parent: ParentObject

    def __init__(self, number: int, parent: ParentObject) -> None:
        super().__init__(number)
        self.parent = parent

    @property
    def closed(self) -> bool:
        """Whether the parent object was closed (and the fd with it)."""
        return self.parent.closed

    def close(self) -> None:
        """Forget the number; the parent object closes the fd itself."""
        self.number = -1

    def disown(self, what: str) -> int:
        """Refused: the fd is the parent object's, which closes it."""
        raise PhaseError(
            f"{what} belongs to object {self.parent.name!r}, which closes its "
            "fd: open a handle of your own (from_id, from_pin) to disown one",
            phase="borrowed",
            needed="owned",
        )

    @property
    def why_closed(self) -> str:
        """Why the fd may not be used: its object was closed."""
        return "belongs to a closed object"


# Which process this is, counted by forks rather than asked with getpid(): a getpid()
# per link would show up in what programs attached to sys_enter_getpid count.
_forks = [0]


def _count_fork() -> None:
    _forks[0] += 1


os.register_at_fork(after_in_child=_count_fork)


def fork_count() -> int:
    """How many forks this process is away from the one that imported the library.

    Handles that stand for something shared with a parent process (an attachment) and
    have no :class:`OwnedFd` to ask remember this instead.
    """
    return _forks[0]


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
