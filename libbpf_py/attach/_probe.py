"""Attach probes to code by name: kprobes on kernel functions, uprobes and USDT probes in
user-space binaries."""

from __future__ import annotations

import errno
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from libbpf_py._lowlevel import errno_of, ffi, lib
from libbpf_py.attach._base import AttachBase, _cookie, _cookie_array, _opts
from libbpf_py.enums import AttachType
from libbpf_py.errors import AmbiguousMatch, NotFound
from libbpf_py.link._link import Link

__all__ = ["ProbeAttach"]

_TRACEFS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")


class ProbeAttach(AttachBase):
    """Attach methods for kprobes, uprobes and USDT probes."""

    def attach_kprobe(
        self, function: str, *, retprobe: bool = False, offset: int = 0, cookie: int = 0
    ) -> Link:
        """Attach a kprobe (or kretprobe) to kernel function ``function``.

        ``cookie`` (a u64) is what the program reads with ``bpf_get_attach_cookie``; a
        non-zero one needs BPF perf links (``features.check("attach:perf_event_cookie")``).
        Raises ``ValueError`` for a cookie outside 0 .. 2**64-1, ``NotFound`` for a
        function the kernel lacks, ``NotSupported`` where the kernel cannot attach it.
        """
        cookie = _cookie(cookie)
        prog = self._libbpf_program("kprobe")
        kind = "kretprobe" if retprobe else "kprobe"
        what = f"attaching {kind} {self.name!r} to {function}"
        _require_kernel_symbol(function, what)
        self._require_feature(kind, what)
        if cookie:
            self._require_cookie("perf_event_cookie", what)
        opts = _opts("bpf_kprobe_opts")
        opts.retprobe = retprobe
        opts.offset = offset
        opts.bpf_cookie = cookie
        return self._made(
            lib.bpf_program__attach_kprobe_opts(prog, function.encode(), opts),
            f"bpf_program__attach_kprobe({self.name!r}, {function!r})",
            what,
            f"{self.name} ({kind} {function})",
        )

    def attach_ksyscall(self, name: str, *, retprobe: bool = False, cookie: int = 0) -> Link:
        """Attach a kprobe (or kretprobe) to system call ``name`` (``"getppid"``), on
        whatever function this kernel and architecture implement it with
        (``bpf_program__attach_ksyscall``; ``SEC("ksyscall/<name>")`` attaches through
        :meth:`attach` and ``obj.attach()`` too).

        ``cookie`` (a u64) is what the program reads with ``bpf_get_attach_cookie``.
        Raises ``NotSupported`` with the probed reason where the kernel has no kprobes,
        ``NotFound`` for a system call the kernel lacks, ``ValueError`` for a cookie
        outside 0 .. 2**64-1.
        """
        cookie = _cookie(cookie)
        prog = self._libbpf_program("ksyscall")
        kind = "kretsyscall" if retprobe else "ksyscall"
        what = f"attaching {kind} {self.name!r} to system call {name}"
        # The kprobe probe first: without kprobes, libbpf cannot even tell which
        # function implements the call, and would answer ENOENT for every one.
        self._require_feature(
            "kretprobe" if retprobe else "kprobe",
            what,
            words="kprobes (a ksyscall program is one)",
        )
        if cookie:
            self._require_cookie("perf_event_cookie", what)
        _require_syscall(name, what)
        opts = _opts("bpf_ksyscall_opts")
        opts.retprobe = retprobe
        opts.bpf_cookie = cookie
        return self._made(
            lib.bpf_program__attach_ksyscall(prog, name.encode(), opts),
            f"bpf_program__attach_ksyscall({self.name!r}, {name!r})",
            what,
            f"{self.name} ({kind} {name})",
            missing=f"the kernel has no system call {name!r}",
        )

    def attach_kprobe_multi(
        self,
        pattern: str | None = None,
        *,
        functions: list[str] | None = None,
        retprobe: bool = False,
        cookies: Sequence[int] | None = None,
        unique_match: bool = False,
        session: bool | None = None,
    ) -> Link:
        """Attach to many kernel functions at once: a glob ``pattern`` or a list.

        ``cookies`` gives one u64 per function of ``functions`` (in the same order), read
        by the program with ``bpf_get_attach_cookie``; a pattern takes none.
        ``unique_match=True`` demands that ``pattern`` name exactly one function: one
        matching none raises ``NotFound``, one matching several (or a name the kernel
        has twice, as static functions can be) raises ``AmbiguousMatch`` naming them.
        ``session=True`` attaches a ``SEC("kprobe.session")`` program, which runs at
        entry and at return of each function, one run telling the other apart with
        ``bpf_session_is_return()`` (Linux 6.10+,
        ``features.check("attach:kprobe_session")``); None (default) follows the
        program's section. Raises ``ValueError`` for a wrong cookie count, a cookie
        outside 0 .. 2**64-1, ``unique_match`` without a pattern, ``session`` with
        ``retprobe`` or a session that the program's section does not match.
        """
        prog = self._libbpf_program("kprobe_multi")
        if session is None:
            session = self.expected_attach_type is AttachType.TRACE_KPROBE_SESSION
        kind = "kprobe_session" if session else "kprobe_multi"
        what = f"attaching {kind} {self.name!r} to {pattern or functions}"
        if (pattern is None) == (functions is None):
            raise ValueError("give a pattern or a list of functions, not both or neither")
        if cookies is not None and functions is None:
            raise ValueError("cookies go with a list of functions (one each), not a pattern")
        if unique_match and pattern is None:
            raise ValueError("unique_match=True checks a pattern; a list names its functions")
        if session and retprobe:
            raise ValueError("a kprobe session runs at entry and return: retprobe=True is moot")
        in_session = self.expected_attach_type is AttachType.TRACE_KPROBE_SESSION
        if session != in_session:
            raise ValueError(
                f"{what}: session={session} needs a program of section "
                + ('"kprobe.session"' if session else '"kprobe.multi"')
                + f"; {self.name!r} is in {self.section!r}"
            )
        keep_cookies = _cookie_array(cookies, len(functions or ()), "function")
        for fn in functions or ():
            _require_kernel_symbol(fn, what)
        self._require_feature(kind, what)
        opts = _opts("bpf_kprobe_multi_opts")
        opts.retprobe = retprobe
        opts.session = session
        opts.unique_match = unique_match
        keep = [ffi.new("char[]", fn.encode()) for fn in functions or ()]
        if functions:
            syms = ffi.new("const char *[]", keep)
            opts.syms = syms
            opts.cnt = len(keep)
            opts.cookies = keep_cookies
        ptr = lib.bpf_program__attach_kprobe_multi_opts(
            prog, pattern.encode() if pattern else ffi.NULL, opts
        )
        if unique_match and pattern and errno_of(ptr) == errno.EINVAL:
            # libbpf says only EINVAL (and the count, in a warning): name the matches.
            _refuse_not_unique(pattern, what)
        return self._made(
            ptr,
            f"bpf_program__attach_kprobe_multi({self.name!r})",
            what,
            f"{self.name} ({kind} {pattern or len(keep)})",
            missing=(
                f"no kernel function matches {pattern!r}"
                if pattern
                else f"the kernel lacks one of the functions {functions}"
            ),
        )

    def attach_uprobe(
        self,
        binary: str | os.PathLike[str],
        function: str | None = None,
        *,
        offset: int = 0,
        pid: int = -1,
        retprobe: bool = False,
        cookie: int = 0,
    ) -> Link:
        """Attach a uprobe (or uretprobe) to ``function`` (or file ``offset``) of ``binary``.

        ``pid`` limits it to one process (-1: every process running the binary).
        ``cookie`` (a u64) is what the program reads with ``bpf_get_attach_cookie``; a
        non-zero one needs BPF perf links (``features.check("attach:perf_event_cookie")``).
        Raises ``ValueError`` for a cookie outside 0 .. 2**64-1.
        """
        cookie = _cookie(cookie)
        prog = self._libbpf_program("uprobe")
        path = _resolve_binary(binary)
        kind = "uretprobe" if retprobe else "uprobe"
        where = f"{function}+{offset:#x}" if function and offset else (function or hex(offset))
        what = f"attaching {kind} {self.name!r} to {where} in {path}"
        self._require_feature(kind, what)
        if cookie:
            self._require_cookie("perf_event_cookie", what)
        opts = _opts("bpf_uprobe_opts")
        opts.retprobe = retprobe
        opts.bpf_cookie = cookie
        name = ffi.new("char[]", function.encode()) if function else ffi.NULL
        opts.func_name = name
        ptr = lib.bpf_program__attach_uprobe_opts(prog, pid, os.fsencode(path), offset, opts)
        err = errno_of(ptr)
        if err == errno.ESRCH:
            raise NotFound(f"{what}: no process with pid {pid}", errno=err)
        missing = f"{path} has no function {function!r} in its symbols" if function else ""
        return self._made(
            ptr,
            f"bpf_program__attach_uprobe({self.name!r}, {where})",
            what,
            f"{self.name} ({kind} {path}:{where})",
            missing=missing,
        )

    def attach_uprobe_multi(
        self,
        binary: str | os.PathLike[str],
        pattern: str | None = None,
        *,
        functions: list[str] | None = None,
        pid: int = -1,
        retprobe: bool = False,
        cookies: Sequence[int] | None = None,
    ) -> Link:
        """Attach to every function of ``binary`` matching glob ``pattern``, or to each of
        ``functions``, with one link.

        ``cookies`` gives one u64 per function of ``functions`` (in the same order), read
        by the program with ``bpf_get_attach_cookie``; a pattern takes none. Raises
        ``ValueError`` for a wrong count or a cookie outside 0 .. 2**64-1.
        """
        prog = self._libbpf_program("uprobe_multi")
        if (pattern is None) == (functions is None):
            raise ValueError("give a pattern or a list of functions, not both or neither")
        if cookies is not None and functions is None:
            raise ValueError("cookies go with a list of functions (one each), not a pattern")
        if functions is not None and not functions:
            raise ValueError("functions is empty: name at least one function")
        keep_cookies = _cookie_array(cookies, len(functions or ()), "function")
        path = _resolve_binary(binary)
        what = f"attaching uprobe_multi {self.name!r} to {pattern or functions} in {path}"
        self._require_feature("uprobe_multi", what)
        opts = _opts("bpf_uprobe_multi_opts")
        opts.retprobe = retprobe
        keep = [ffi.new("char[]", fn.encode()) for fn in functions or ()]
        if functions:
            syms = ffi.new("const char *[]", keep)
            opts.syms = syms
            opts.cnt = len(keep)
            opts.cookies = keep_cookies
        ptr = lib.bpf_program__attach_uprobe_multi(
            prog, pid, os.fsencode(path), pattern.encode() if pattern else ffi.NULL, opts
        )
        missing = (
            f"no function of {path} matches {pattern!r}"
            if pattern
            else f"{path} lacks one of the functions {functions}"
        )
        return self._made(
            ptr,
            f"bpf_program__attach_uprobe_multi({self.name!r}, {pattern or functions!r})",
            what,
            f"{self.name} (uprobe_multi {path}:{pattern or len(keep)})",
            missing=missing,
        )

    def attach_usdt(
        self,
        binary: str | os.PathLike[str],
        provider: str,
        name: str,
        *,
        pid: int = -1,
        cookie: int = 0,
    ) -> Link:
        """Attach to the USDT probe ``provider:name`` of ``binary`` (``DTRACE_PROBE``).

        ``cookie`` (a u64) is what the program reads with ``bpf_usdt_cookie``. Raises
        ``ValueError`` for a cookie outside 0 .. 2**64-1.
        """
        cookie = _cookie(cookie)
        prog = self._libbpf_program("usdt")
        path = _resolve_binary(binary)
        what = f"attaching USDT {self.name!r} to {provider}:{name} in {path}"
        self._require_feature("usdt", what)
        opts = _opts("bpf_usdt_opts")
        opts.usdt_cookie = cookie
        ptr = lib.bpf_program__attach_usdt(
            prog, pid, os.fsencode(path), provider.encode(), name.encode(), opts
        )
        return self._made(
            ptr,
            f"bpf_program__attach_usdt({provider}:{name})",
            what,
            f"{self.name} (usdt {path}:{provider}:{name})",
            missing=f"{path} has no USDT probe {provider}:{name}",
            usdt=True,
        )


# --- helpers -----------------------------------------------------------------------


def _resolve_binary(binary: str | os.PathLike[str]) -> str:
    path = os.fspath(binary)
    if os.path.isfile(path):
        return os.path.abspath(path)
    if "/" not in path:
        found = shutil.which(path)
        if found:
            return found
    raise NotFound(
        f"no binary or library {path!r} (give a path, or a program name on PATH)",
        errno=errno.ENOENT,
    )


def _require_kernel_symbol(function: str, what: str) -> None:
    try:
        with open("/proc/kallsyms") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[2] == function:
                    return
    except OSError:
        return  # cannot tell: let the kernel answer
    raise NotFound(
        f"{what}: the kernel has no function {function!r} (see /proc/kallsyms)", errno=errno.ENOENT
    )


def _require_syscall(name: str, what: str) -> None:
    """NotFound for a system call no kernel function implements (from /proc/kallsyms:
    ``__x64_sys_<name>``, ``__se_sys_<name>`` or ``sys_<name>``)."""
    if not name or not name.isidentifier():
        raise ValueError(f"{what}: a system call is named like 'getppid', not {name!r}")
    suffix = f"_sys_{name}"
    try:
        with open("/proc/kallsyms") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and (parts[2].endswith(suffix) or parts[2] == f"sys_{name}"):
                    return
    except OSError:
        return  # cannot tell: let the kernel answer
    raise NotFound(
        f"{what}: the kernel has no system call {name!r} (no *{suffix} in /proc/kallsyms)",
        errno=errno.ENOENT,
    )


def _glob(pattern: str) -> re.Pattern[str]:
    """libbpf's glob for kernel functions: ``*`` any run, ``?`` one character, the rest
    literal."""
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    )


def _refuse_not_unique(pattern: str, what: str) -> None:
    """Raise the error a ``unique_match`` pattern earned: NotFound for no match,
    AmbiguousMatch naming the matches for several. Returns when this cannot tell
    (the caller then reports libbpf's own error)."""
    tracefs = next((Path(p) for p in _TRACEFS if Path(p, "events").is_dir()), None)
    if tracefs is None:
        return
    glob = _glob(pattern)
    matches: list[str] = []
    try:
        with open(tracefs / "available_filter_functions") as f:
            for line in f:
                # "name" or "name [module]": libbpf matches the name alone.
                fields = line.split()
                if fields and glob.fullmatch(fields[0]):
                    matches.append(fields[0])
    except OSError:
        return
    if not matches:
        raise NotFound(
            f"{what}: unique_match=True, and no kernel function matches {pattern!r} "
            f"(see {tracefs}/available_filter_functions)",
            errno=errno.ENOENT,
        )
    if len(matches) > 1:
        names = sorted(set(matches))
        twice = [n for n in names if matches.count(n) > 1]
        shown = ", ".join(names[:10]) + (
            f", ... ({len(names) - 10} more)" if len(names) > 10 else ""
        )
        note = f"; the kernel has {', '.join(twice)} more than once" if twice else ""
        raise AmbiguousMatch(
            f"{what}: unique_match=True, and {pattern!r} matches {len(matches)} kernel "
            f"functions: {shown}{note}",
            errno=errno.EINVAL,
        )
