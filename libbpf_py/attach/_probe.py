"""Attach probes to code by name: kprobes on kernel functions, uprobes and USDT probes in
user-space binaries."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Sequence

from libbpf_py._lowlevel import errno_of, ffi, lib
from libbpf_py.attach._base import AttachBase, _cookie, _cookie_array, _opts
from libbpf_py.errors import NotFound
from libbpf_py.link._link import Link

__all__ = ["ProbeAttach"]


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

    def attach_kprobe_multi(
        self,
        pattern: str | None = None,
        *,
        functions: list[str] | None = None,
        retprobe: bool = False,
        cookies: Sequence[int] | None = None,
    ) -> Link:
        """Attach to many kernel functions at once: a glob ``pattern`` or a list.

        ``cookies`` gives one u64 per function of ``functions`` (in the same order), read
        by the program with ``bpf_get_attach_cookie``; a pattern takes none. Raises
        ``ValueError`` for a wrong count or a cookie outside 0 .. 2**64-1.
        """
        prog = self._libbpf_program("kprobe_multi")
        what = f"attaching kprobe_multi {self.name!r} to {pattern or functions}"
        if (pattern is None) == (functions is None):
            raise ValueError("give a pattern or a list of functions, not both or neither")
        if cookies is not None and functions is None:
            raise ValueError("cookies go with a list of functions (one each), not a pattern")
        keep_cookies = _cookie_array(cookies, len(functions or ()), "function")
        for fn in functions or ():
            _require_kernel_symbol(fn, what)
        self._require_feature("kprobe_multi", what)
        opts = _opts("bpf_kprobe_multi_opts")
        opts.retprobe = retprobe
        keep = [ffi.new("char[]", fn.encode()) for fn in functions or ()]
        if functions:
            syms = ffi.new("const char *[]", keep)
            opts.syms = syms
            opts.cnt = len(keep)
            opts.cookies = keep_cookies
        ptr = lib.bpf_program__attach_kprobe_multi_opts(
            prog, pattern.encode() if pattern else ffi.NULL, opts
        )
        return self._made(
            ptr,
            f"bpf_program__attach_kprobe_multi({self.name!r})",
            what,
            f"{self.name} (kprobe_multi {pattern or len(keep)})",
            missing="no kernel function matches",
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
