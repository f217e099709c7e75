"""The exception hierarchy of libbpf_py.

Every error the library raises derives from :class:`BpfError`. Where a builtin exception
fits, the library error inherits it too, so ``except KeyError`` or ``except
PermissionError`` keep working for code that does not know about libbpf_py.

Messages say what went wrong and what to do next.
"""

from __future__ import annotations

import errno as _errno
import os
from collections.abc import Iterable, Sequence
from typing import TypeVar

__all__ = [
    "AmbiguousMatch",
    "ArenaPageError",
    "BpfError",
    "CompileError",
    "KeyNotFound",
    "LayoutError",
    "MapFullError",
    "NameNotFound",
    "NotFound",
    "NotOnBpffs",
    "NotSupported",
    "ObjectFormatError",
    "PermissionDenied",
    "PhaseError",
    "ResourceBusy",
    "VerifierError",
    "error_from_errno",
]


class BpfError(Exception):
    """Base class of every libbpf_py error.

    ``errno`` holds the positive error number when the error came from the kernel or
    libbpf, else ``None``.
    """

    def __init__(self, message: str, *, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno
        self.message = message

    def __str__(self) -> str:
        return self.message


class AmbiguousMatch(BpfError, ValueError):
    """A name or pattern that must pick one target picked several (e.g. a kprobe_multi
    pattern with ``unique_match=True``); the message names them."""


class PhaseError(BpfError, RuntimeError):
    """A call was made in a phase of the lifecycle that does not allow it.

    ``phase`` is the phase the handle is in; ``needed`` the phase the call needs.
    """

    def __init__(self, message: str, *, phase: str = "", needed: str = "") -> None:
        super().__init__(message)
        self.phase = phase
        self.needed = needed


class PermissionDenied(BpfError, PermissionError):
    """The kernel refused the operation (EPERM/EACCES)."""


class NotFound(BpfError, FileNotFoundError):
    """A named thing does not exist: a file, an interface, a pin, an id."""


class ArenaPageError(NotFound):
    """An arena page holds no memory: neither the program nor user space allocated it
    (or the arena refuses to fault pages in for user space, ``BPF_F_SEGV_ON_FAULT``).

    ``offset`` is the byte offset in the arena of the first byte that could not be read
    or written.
    """

    def __init__(self, message: str, *, offset: int, errno: int | None = None) -> None:
        super().__init__(message, errno=errno)
        self.offset = offset


class KeyNotFound(BpfError, KeyError):
    """A map has no entry for the key (the mapping protocol's ``KeyError``)."""

    def __str__(self) -> str:
        # KeyError.__str__ would repr() the message; keep it readable.
        return self.message


class NameNotFound(BpfError, KeyError):
    """A lookup by name found nothing: no map, program, global variable, section or
    struct member of that name (``obj.maps["nosuch"]``, ``obj.programs[...]``,
    ``obj.globals[...]``).

    The message names what exists, closest matches first. ``name`` is the name asked
    for, ``names`` the names there are, ``kind`` what was looked for (``"map"``) and
    ``where`` what was searched (``"object xdp_filter"``).
    """

    def __init__(self, kind: str, name: object, where: str, names: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.where = where
        self.names = tuple(names)
        super().__init__(unknown_name_message(kind, name, where, self.names))

    def __str__(self) -> str:
        # KeyError.__str__ would repr() the message; keep it readable.
        return self.message

    def __reduce__(self) -> tuple[type[NameNotFound], tuple[str, object, str, tuple[str, ...]]]:
        # The arguments differ from BaseException's (the message), so say how to rebuild.
        return (NameNotFound, (self.kind, self.name, self.where, self.names))


# Past this many, a list of names stops helping the reader: the closest matches lead.
_NAMES_SHOWN = 20


def unknown_name_message(kind: str, name: object, where: str, names: Iterable[str]) -> str:
    """Say that ``where`` has no ``kind`` called ``name``, and what it has instead.

    ``"no map 'blocklst' in object xdp_filter (did you mean 'blocklist'?); it has:
    blocklist, counters"``. :class:`NameNotFound` and the ``AttributeError`` of an
    attribute-style lookup (``obj.globals.NAME``) share this wording.
    """
    # Imported here: only a failed lookup needs it, and every import of the library
    # loads this module.
    import difflib

    known = list(names)
    asked = name if isinstance(name, str) else repr(name)
    close = difflib.get_close_matches(asked, known, n=3, cutoff=0.6) if known else []
    text = f"no {kind} {name!r} in {where}"
    if close:
        text += f" (did you mean {' or '.join(repr(c) for c in close)}?)"
    if not known:
        return text + f"; it has no {kind}s"
    shown = known if len(known) <= _NAMES_SHOWN else known[:_NAMES_SHOWN]
    more = f" and {len(known) - len(shown)} more" if len(shown) < len(known) else ""
    return text + f"; it has: {', '.join(shown)}{more}"


_V = TypeVar("_V")


class NameTable(dict[str, _V]):
    """A dict of things by name whose unknown name raises :class:`NameNotFound`.

    Every name-keyed collection the library hands out is one (``obj.maps``,
    ``obj.programs``, ``spec.globals``...): it is a plain ``dict`` otherwise, so
    ``get``, ``in`` and iteration behave as they do on any dict.
    """

    def __init__(self, items: Iterable[tuple[str, _V]] = (), *, kind: str, where: str) -> None:
        super().__init__(items)
        self.kind = kind
        self.where = where

    def __missing__(self, name: str) -> _V:
        raise NameNotFound(self.kind, name, self.where, self)


class NotOnBpffs(BpfError, ValueError):
    """A pin path is not on a bpffs mount, the only file system BPF objects pin to."""


class NotSupported(BpfError):
    """This kernel (or this libbpf) lacks the feature the call needs."""


class ResourceBusy(BpfError):
    """The hook is taken: another program is attached where this one should go."""


class MapFullError(BpfError):
    """A map update failed because the map holds ``max_entries`` entries already."""


class LayoutError(BpfError, ValueError):
    """A key or value has the wrong size or shape for the map."""


class ObjectFormatError(BpfError, ValueError):
    """A BPF ELF object (or its BTF) is malformed.

    ``section`` and ``offset`` locate the problem when it is known.
    """

    def __init__(
        self,
        message: str,
        *,
        section: str | None = None,
        offset: int | None = None,
        errno: int | None = None,
    ) -> None:
        where = ""
        if section is not None:
            where = f" (section {section}" + (
                f", offset {offset:#x})" if offset is not None else ")"
            )
        elif offset is not None:
            where = f" (offset {offset:#x})"
        super().__init__(message + where, errno=errno)
        self.section = section
        self.offset = offset


class CompileError(BpfError):
    """clang failed to compile a BPF program; ``diagnostics`` holds its output."""

    def __init__(self, message: str, *, diagnostics: str = "", command: Sequence[str] = ()):
        super().__init__(message + ("\n" + diagnostics if diagnostics else ""))
        self.diagnostics = diagnostics
        self.command = list(command)


class VerifierError(BpfError):
    """The kernel's verifier rejected a program.

    ``log`` is the complete verifier log as a list of lines, ``program`` the program's
    name.
    """

    def __init__(self, program: str, log: Sequence[str], *, errno: int | None = None):
        self.program = program
        self.log = list(log)
        tail = "\n".join(self.log[-20:]) if self.log else "(the kernel gave no log)"
        more = (
            f"\n... ({len(self.log) - 20} earlier lines in VerifierError.log)"
            if len(self.log) > 20
            else ""
        )
        super().__init__(
            f"the verifier rejected program {program!r}"
            + (f" ({os.strerror(errno)})" if errno else "")
            + f"; the end of its log:{more}\n{tail}",
            errno=errno,
        )


# The kernel-internal ENOTSUPP leaks to user space from some BPF commands (test_run).
_ENOTSUPP = 524


def in_user_namespace() -> bool:
    """Whether this process runs in a user namespace other than the initial one.

    The initial namespace maps every uid to itself; a child namespace maps fewer.
    """
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() != ["0", "0", "4294967295"]
    except OSError:
        return False


def _has_admin_capabilities() -> bool:
    """Whether this process holds CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN or CAP_SYS_ADMIN.

    In a user namespace the answer is no: the kernel checks BPF capabilities in the
    initial namespace, unless the call carries a BPF token.
    """
    if in_user_namespace():
        return False
    try:
        with open(f"/proc/{os.getpid()}/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    caps = int(line.split()[1], 16)
                    sys_admin = bool(caps & (1 << 21))
                    bpf = bool(caps & (1 << 39))
                    return sys_admin or bpf
    except OSError:
        pass
    return os.geteuid() == 0


def missing_capability_hint() -> str:
    """Say which capability is missing, or that the kernel itself refuses."""
    if in_user_namespace():
        return (
            "this process runs in a user namespace, whose capabilities do not count for "
            "bpf(): use a BPF token from a bpffs mounted with delegate_* options "
            "(libbpf_py.token.Token, ObjectFile.open(token_path=...), "
            "Map.create(token=...); see docs/howto/tokens.md), and check the mount "
            "delegates this command, map, program or attach type"
        )
    if _has_admin_capabilities():
        return (
            "this process has CAP_BPF/CAP_SYS_ADMIN, so the kernel itself refuses this "
            "program or attach kind (lockdown, a sysctl, or an LSM)"
        )
    return (
        "this process lacks CAP_BPF (and CAP_SYS_ADMIN/CAP_NET_ADMIN/CAP_PERFMON for "
        "some program kinds): run it as root, with its capabilities"
    )


def error_from_errno(err: int, action: str, *, hint: str = "") -> BpfError:
    """Build the library exception for a positive ``errno`` raised while doing ``action``."""
    err = abs(err)
    text = f"{action}: {os.strerror(err)}" + (f"; {hint}" if hint else "")
    if err in (_errno.EPERM, _errno.EACCES):
        return PermissionDenied(f"{text}; {missing_capability_hint()}", errno=err)
    if err in (_errno.ENOENT, _errno.ENODEV, _errno.ENXIO, _errno.ESRCH):
        return NotFound(text, errno=err)
    if err == _ENOTSUPP:
        return NotSupported(
            f"{action}: the kernel does not support this operation here"
            + (f"; {hint}" if hint else ""),
            errno=err,
        )
    if err in (_errno.EOPNOTSUPP, _errno.ENOTSUP, _errno.ENOSYS, _errno.EPROTONOSUPPORT):
        return NotSupported(text, errno=err)
    if err in (_errno.EBUSY, _errno.EEXIST):
        return ResourceBusy(text, errno=err)
    if err == _errno.E2BIG:
        return MapFullError(text, errno=err)
    return BpfError(text, errno=err)
