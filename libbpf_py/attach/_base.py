"""What every attach kind shares: making a :class:`~libbpf_py.Link`, checking the kernel
can attach the kind, and :meth:`AttachBase.attach` by section name.

The attach families (``_net``, ``_socket``, ``_trace``,
``_probe``, ``_cgroup``) build on :class:`AttachBase`;
:class:`libbpf_py.attach.AttachMixin` puts them together for :class:`~libbpf_py.Program`.
"""

from __future__ import annotations

import errno
import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from libbpf_py import features
from libbpf_py._lowlevel import errno_of, ffi, lib, libbpf_error
from libbpf_py.enums import AttachType, ProgType
from libbpf_py.errors import (
    NotFound,
    NotSupported,
    PermissionDenied,
    _has_admin_capabilities,
    in_user_namespace,
    missing_capability_hint,
)
from libbpf_py.explain import narrate
from libbpf_py.link._link import LibbpfLink, Link, UsdtLinks

if TYPE_CHECKING:
    from libbpf_py._lowlevel.owner import Fd

__all__ = ["AttachBase"]

# Probe sections that name their target, and the attach kind each needs.
_SECTION_FEATURES = {
    "kprobe": "kprobe",
    "kretprobe": "kretprobe",
    "ksyscall": "kprobe",
    "kretsyscall": "kretprobe",
    "kprobe.multi": "kprobe_multi",
    "kretprobe.multi": "kprobe_multi",
    "kprobe.session": "kprobe_session",
}


def _opts(ctype: str) -> Any:
    """A zeroed libbpf options struct ``struct <ctype>`` with its size set, as the C
    macro ``LIBBPF_OPTS`` makes one."""
    opts = ffi.new(f"struct {ctype} *")
    opts.sz = ffi.sizeof(f"struct {ctype}")
    return opts


def _refused_for_privileges(reason: str) -> bool:
    """Whether a failed probe says nothing about the kernel, only that this process may
    not make the call: it lacks the capabilities, or (in a user namespace, where only a
    BPF token helps) the kernel answered EPERM/EACCES."""
    if in_user_namespace():
        return "EPERM" in reason or "EACCES" in reason
    return not _has_admin_capabilities()


def _cookie(value: int, what: str = "cookie") -> int:
    """``value`` as a BPF cookie, a u64 a program reads with ``bpf_get_attach_cookie``.

    Raises ``TypeError`` for a value that is not an int and ``ValueError`` for one
    outside 0 .. 2**64-1.
    """
    try:
        if isinstance(value, bool):
            raise TypeError
        value = operator.index(value)
    except TypeError:
        raise TypeError(
            f"a BPF {what} is an int (0 .. 2**64-1), not {type(value).__name__}"
        ) from None
    if not 0 <= value < 1 << 64:
        raise ValueError(f"a BPF {what} is a u64, 0 .. 2**64-1; {value} is outside it")
    return value


def _cookie_array(cookies: Sequence[int] | None, targets: int, what: str) -> Any:
    """A ``__u64[]`` of one cookie per attach target (``ffi.NULL`` without cookies).

    Raises ``ValueError`` when the count differs from ``targets`` or a cookie is out of
    range, ``TypeError`` when ``cookies`` is not a sequence of ints.
    """
    if cookies is None:
        return ffi.NULL
    if isinstance(cookies, (str, bytes)) or not isinstance(cookies, Sequence):
        raise TypeError(f"cookies is a sequence of ints, one per {what}")
    if len(cookies) != targets:
        raise ValueError(
            f"cookies has {len(cookies)} values for {targets} {what}s: give one per {what}"
        )
    return ffi.new("__u64[]", [_cookie(c, f"cookie (cookies[{i}])") for i, c in enumerate(cookies)])


class AttachBase:
    """The plumbing under the attach methods of a loaded program."""

    name: str
    section: str
    type: ProgType
    expected_attach_type: AttachType
    _ptr: Any
    # Borrowed from the program's object, which destroys its links first, or owned by a
    # standalone program (Program.from_id), whose links nothing closes first.
    _fd: Fd

    @property
    def fd(self) -> int:  # provided by Program
        """The program's file descriptor."""
        raise NotImplementedError

    # --- plumbing ------------------------------------------------------------------

    def _link(
        self, ptr: Any, description: str, *, kept_by_object: bool = False, usdt: bool = False
    ) -> Link:
        """The handle of the link libbpf made as ``ptr``: a USDT group for attach_usdt,
        or for a program in a USDT section (libbpf's attach by section makes one)."""
        kind = UsdtLinks if usdt or self.section.startswith("usdt") else LibbpfLink
        return self._track(
            kind(ptr, program=self, description=description, kept_by_object=kept_by_object)
        )

    def _fd_link(self, fd: int, description: str) -> Link:
        """The handle of the BPF link ``bpf_link_create`` made as ``fd``, which it owns."""
        return self._track(Link(fd, program=self, description=description))

    def _track(self, link: Link) -> Link:
        """Give ``link`` to the program's object, which destroys it before it closes.

        A standalone program (Program.from_id) has no object: its links are only the
        caller's.
        """
        parent = self._fd.parent
        if parent is not None:
            parent._track(link)
        return link

    def _libbpf_program(self, kind: str) -> Any:
        """The ``struct bpf_program *`` libbpf's attach functions need."""
        self.fd  # noqa: B018 - raises PhaseError for a closed object or unloaded program
        if self._ptr is None:
            raise NotSupported(
                f"{kind} attach of {self.name!r} needs a program of a "
                "LoadedObject (libbpf attaches it from its section); this one "
                "was opened by id or pin"
            )
        return self._ptr

    def _made(
        self,
        ptr: Any,
        call: str,
        what: str,
        description: str,
        *,
        hint: str = "",
        missing: str = "",
        usdt: bool = False,
    ) -> Link:
        """The link libbpf returned as ``ptr``, or its error; ``missing`` says what ENOENT
        means for this kind (the target is not there); ``usdt`` says libbpf made a USDT
        group."""
        err = errno_of(ptr)
        if err == errno.ENOENT and missing:
            raise NotFound(f"{what}: {missing}", errno=err)
        if err:
            raise libbpf_error(err, what, hint=hint)
        narrate(call, f"link fd {lib.bpf_link__fd(ptr)}", phase="attach")
        return self._link(ptr, description, usdt=usdt)

    def _require_feature(self, kind: str, what: str, *, words: str = "") -> None:
        """Refuse ``what`` with the probed reason where ``attach:<kind>`` is missing;
        ``words`` names what the kernel lacks when "<kind> programs" would not."""
        reason = features.check(f"attach:{kind}")
        if reason:
            if _refused_for_privileges(reason):
                # The probe was refused for want of privileges, which says nothing about
                # the kernel: report the missing capability, not a missing feature.
                raise PermissionDenied(f"{what}: {missing_capability_hint()}", errno=errno.EPERM)
            raise NotSupported(
                f"{what}: this kernel cannot attach {words or kind + ' programs'}: {reason}"
            )

    def _require_cookie(self, feature: str, what: str) -> None:
        """Refuse a non-zero BPF cookie where the kernel cannot carry one for this kind
        (probed as ``attach:<feature>``), rather than attach without it."""
        reason = features.check(f"attach:{feature}")
        if reason:
            if _refused_for_privileges(reason):
                raise PermissionDenied(f"{what}: {missing_capability_hint()}", errno=errno.EPERM)
            raise NotSupported(
                f"{what}: this kernel cannot carry a BPF cookie on it "
                f"(features.check('attach:{feature}')): {reason}"
            )

    # --- by section name -----------------------------------------------------------

    def _require_section_feature(self, what: str) -> None:
        """Refuse attaching by section name with the probed reason where the section
        names a target of a probe kind this kernel lacks; otherwise libbpf's answer
        would be a bare ENOENT (a ksyscall program cannot even resolve its function)."""
        kind, _, target = self.section.lstrip("?").partition("/")
        feature = _SECTION_FEATURES.get(kind)
        if feature is not None and target:
            self._require_feature(feature, what)

    def attach(self) -> Link:
        """Attach where the section name says (``bpf_program__attach``).

        Sections that name no target (``xdp``, ``tc``, ...) need the kind's own method,
        e.g. :meth:`attach_xdp`.
        """
        prog = self._libbpf_program("auto")
        self._require_section_feature(f"attaching program {self.name!r}")
        ptr = lib.bpf_program__attach(prog)
        err = errno_of(ptr)
        if err:
            hint = ""
            if err in (errno.EOPNOTSUPP, errno.ENOTSUP, errno.ESRCH):
                hint = (
                    f"section {self.section!r} names no target to attach to; use the "
                    "attach method of its kind (e.g. attach_xdp(dev))"
                )
            raise libbpf_error(err, f"attaching program {self.name!r}", hint=hint)
        narrate(
            f"bpf_program__attach({self.name!r})",
            f"link fd {lib.bpf_link__fd(ptr)}",
            phase="attach",
        )
        return self._link(ptr, f"{self.name} ({self.section})")
