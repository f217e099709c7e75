"""A loaded program: attach it (phase 5), run it with test_run, ask the kernel about it."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn

from libbpf_py._lowlevel import check, ffi, lib, libbpf_error
from libbpf_py._lowlevel.fastcall import FAST_MAX, HEADROOM, bind_result_type, install_test_run
from libbpf_py._lowlevel.fastcall import test_run_packet as _run_packet
from libbpf_py._lowlevel.handle import c_string
from libbpf_py._lowlevel.owner import BorrowedFd, Fd, OwnedFd, Owner
from libbpf_py.attach._mixin import AttachMixin
from libbpf_py.enums import AttachType, ProgType
from libbpf_py.errors import LayoutError, NotFound, NotSupported, PhaseError
from libbpf_py.explain import _state as _explain_state
from libbpf_py.explain import narrate
from libbpf_py.query import ProgramInfo, program_info

if TYPE_CHECKING:
    from libbpf_py._lowlevel.owner import ParentObject
    from libbpf_py.inspect import Instruction
    from libbpf_py.types._records import RecordType

__all__ = ["Program", "ProgramInfo", "ProgramStats", "TestRunFlag", "TestRunResult", "program_info"]

_TEST_RUN_HEADROOM = HEADROOM  # room for programs that grow the packet (adjust_head/tail)
_PAGE = os.sysconf("SC_PAGE_SIZE")
# Kinds whose test run takes no packet, runs once, and answers through the context.
_RUN_ONCE = {ProgType.RAW_TRACEPOINT, ProgType.SYSCALL}
# Kinds whose results need more than the one-call path gives (see _test_run).
_SLOW = _RUN_ONCE | {ProgType.FLOW_DISSECTOR}
_PACKET_KINDS = {
    ProgType.XDP,
    ProgType.SCHED_CLS,
    ProgType.SCHED_ACT,
    ProgType.SOCKET_FILTER,
    ProgType.CGROUP_SKB,
    ProgType.FLOW_DISSECTOR,
    ProgType.LWT_IN,
    ProgType.LWT_OUT,
    ProgType.LWT_XMIT,
    ProgType.LWT_SEG6LOCAL,
}
# The context each kind's test run takes, when the program's own BTF does not say.
_KERNEL_CTX = {
    ProgType.XDP: "struct xdp_md",
    ProgType.SCHED_CLS: "struct __sk_buff",
    ProgType.SCHED_ACT: "struct __sk_buff",
    ProgType.SOCKET_FILTER: "struct __sk_buff",
    ProgType.CGROUP_SKB: "struct __sk_buff",
    ProgType.LWT_IN: "struct __sk_buff",
    ProgType.LWT_OUT: "struct __sk_buff",
    ProgType.LWT_XMIT: "struct __sk_buff",
    ProgType.FLOW_DISSECTOR: "struct bpf_flow_keys",
    ProgType.SK_LOOKUP: "struct bpf_sk_lookup",
}
_STREAMS = {"stdout": 1, "stderr": 2}
_scratch = threading.local()
_FAST_MAX = FAST_MAX  # packets up to this size take the one-call path of test_run


class TestRunFlag:
    """Flags of :meth:`Program.test_run` (``BPF_F_TEST_*``)."""

    __test__ = False  # not a pytest test class

    RUN_ON_CPU = 1 << 0
    XDP_LIVE_FRAMES = 1 << 1
    SKB_CHECKSUM_COMPLETE = 1 << 2


class TestRunResult(NamedTuple):
    """What one ``BPF_PROG_TEST_RUN`` returned.

    ``context`` is the context as it left the program, decoded, when ``ctx`` was given
    as a mapping of fields; ``ctx_out`` holds its bytes whenever a ``ctx`` was given.
    """

    retval: int
    data_out: bytes
    ctx_out: bytes | None
    duration_ns: int
    context: Any = None


TestRunResult.__test__ = False  # type: ignore[attr-defined]  # not a pytest test class
bind_result_type(TestRunResult)  # the C fast path returns these


@dataclass(frozen=True)
class ProgramStats:
    """Run statistics, counted while :func:`libbpf_py.stats.stats_enabled` is on."""

    run_count: int
    run_time_ns: int
    recursion_misses: int

    @property
    def average_ns(self) -> float:
        """Mean run time per run, in ns (0.0 before any run)."""
        return self.run_time_ns / self.run_count if self.run_count else 0.0


class Program(AttachMixin, Owner):
    """A program in the kernel: of a :class:`~libbpf_py.LoadedObject`, or standalone.

    A program of an object borrows its fd from the object: it stays valid while its
    object is open, keeps the object alive, and ``close()`` does nothing for it. A
    standalone one (:meth:`from_id`, :meth:`from_pin`) owns its fd: close it, use it as a
    context manager, or hand the fd over with :meth:`disown`.
    """

    _phase_name = "loaded"

    def __init__(
        self,
        fd: Fd,
        name: str,
        type: ProgType,
        *,
        ptr: Any = None,
        section: str = "",
        expected_attach_type: AttachType | None = None,
        verifier_log: list[str] | None = None,
    ) -> None:
        self._fd = fd
        self._ptr = ptr  # libbpf's struct bpf_program *, for a program of an object
        self.name = name
        self.section = section
        self.type = type
        # The kernel does not report a program's expected attach type: a standalone
        # program has the default one.
        self.expected_attach_type = expected_attach_type or AttachType.coerce(0)
        self.verifier_log = verifier_log or []
        self._ctx_type: RecordType | bool | None = False  # False: not looked up yet
        # The fd test_run's fast path may run on, -1 when it may not: read by the C method
        # (see install_test_run below), so it is kept true on every close.
        self._fast_fd = fd.number if type not in _SLOW else -1
        self._closed = False

    @classmethod
    def _of_object(cls, parent: ParentObject, ptr: Any, verifier_log: list[str] | None) -> Program:
        """The program ``ptr`` of the loaded object ``parent``, whose fd it borrows."""
        return cls(
            BorrowedFd(int(lib.bpf_program__fd(ptr)), parent),
            c_string(lib.bpf_program__name(ptr)),
            ProgType.coerce(lib.bpf_program__type(ptr)),
            ptr=ptr,
            section=c_string(lib.bpf_program__section_name(ptr)),
            expected_attach_type=AttachType.coerce(lib.bpf_program__expected_attach_type(ptr)),
            verifier_log=verifier_log,
        )

    @classmethod
    def _standalone(cls, fd: int) -> Program:
        """A program of its own on ``fd`` (from an id or a pin), which it then owns."""
        owned = OwnedFd(fd)
        try:
            _require_program_fd(fd)
            info = program_info(fd)
        except BaseException:
            owned.close()
            raise
        return cls(owned, info.name, info.type)

    @classmethod
    def from_id(cls, prog_id: int) -> Program:
        """Open the program with kernel id ``prog_id`` (``bpftool prog show id N``)."""
        fd = lib.bpf_prog_get_fd_by_id(prog_id)
        if fd < 0:
            hint = "no program has this id (it was unloaded?)" if -fd == errno.ENOENT else ""
            raise libbpf_error(-fd, f"opening program id {prog_id}", hint=hint)
        return cls._standalone(fd)

    @classmethod
    def from_pin(cls, path: str | os.PathLike[str]) -> Program:
        """Open the program pinned at ``path`` on a bpffs."""
        fd = lib.bpf_obj_get(os.fsencode(path))
        if fd < 0:
            if -fd == errno.ENOENT:
                raise NotFound(f"nothing is pinned at {os.fspath(path)}", errno=-fd)
            raise libbpf_error(-fd, f"opening the pin {os.fspath(path)}")
        return cls._standalone(fd)

    def __repr__(self) -> str:
        return f"<Program {self.name!r} {self.type.label}{' closed' if self.closed else ''}>"

    @property
    def loaded(self) -> bool:
        """Whether this program is in the kernel (False if its autoload was off)."""
        return not self._fd.closed and self._fd.number >= 0

    @property
    def closed(self) -> bool:
        """Whether the handle is unusable: its object was closed, or it was closed."""
        return self._fd.closed

    @property
    def fd(self) -> int:
        """The program's file descriptor (owned by its object or this handle)."""
        fd = self._fd
        if fd.closed:
            raise PhaseError(
                f"program {self.name!r} {fd.why_closed}", phase="closed", needed="loaded"
            )
        if fd.number < 0:
            raise PhaseError(
                f"program {self.name!r} was not loaded (its autoload was off)",
                phase="open",
                needed="loaded",
            )
        return fd.number

    def close(self) -> None:
        """Close a standalone program's fd (idempotent). A program of an object is closed
        with its object; this does nothing for it."""
        if self._fd.owned:
            super().close()

    def disown(self) -> int:
        """Hand a standalone program's fd over to the caller, who closes it from now on.

        This handle is closed afterwards. A program of an object raises
        :class:`~libbpf_py.errors.PhaseError`: its fd is its object's.
        """
        fd = self._fd.disown(f"program {self.name!r}")
        self.close()
        return fd

    def _release(self) -> None:
        self._fast_fd = -1
        self._fd.close()

    def _warns_when_dropped(self) -> bool:
        return self._fd.owned

    def _invalidate(self) -> None:
        """Called by its object as it closes, before libbpf closes the fd."""
        self._fast_fd = -1
        self._fd.close()

    # --- the running view -----------------------------------------------------------

    def info(self) -> ProgramInfo:
        """Ask the kernel about this program: id, tag, sizes, maps, run statistics."""
        return program_info(self.fd, self.name)

    @property
    def id(self) -> int:
        """The kernel's id for this program (``bpftool prog show id N``)."""
        return self.info().id

    @property
    def tag(self) -> str:
        """The program's tag: a hash of its instructions, as hex."""
        return self.info().tag

    def stats(self) -> ProgramStats:
        """Run count and time (counted only while ``stats_enabled()`` is on)."""
        info = self.info()
        return ProgramStats(info.run_count, info.run_time_ns, info.recursion_misses)

    def xlated_instructions(self) -> list[Instruction]:
        """The instructions as the kernel runs them, after the verifier rewrote them."""
        from libbpf_py.inspect.insn import decode

        raw = _xlated_bytes(self.fd, self.name)
        return decode(raw, "little", f"program {self.name} (xlated)")

    def xlated(self) -> list[str]:
        """The kernel's translated instructions, disassembled (``bpftool prog dump xlated``).

        Helper calls are named; map references show the map id the kernel put there.
        """
        from libbpf_py.inspect.disasm import instruction_text
        from libbpf_py.inspect.helpers import helper_name

        lines = []
        for insn in self.xlated_instructions():
            text = instruction_text(insn)
            if insn.code == 0x85 and insn.src == 0:
                # The kernel stores a helper call as an offset from __bpf_call_base.
                name = _kernel_function(insn.imm) or helper_name(insn.imm)
                text = f"call {name}" if name else text
            elif insn.code == 0x85 and insn.src == 1:
                text = f"call pc{insn.imm:+d}"
            elif insn.code == 0x18 and insn.src == 1 and insn.imm64 is not None:
                text = f"r{insn.dst} = map[id:{insn.imm64 & 0xFFFFFFFF}]"
            elif insn.code == 0x18 and insn.src == 2 and insn.imm64 is not None:
                text = f"r{insn.dst} = map[id:{insn.imm64 & 0xFFFFFFFF}][0]+{insn.imm64 >> 32}"
            lines.append(f"{insn.index:>5}: {text}")
        return lines

    def stream_read(self, stream: int | str = "stdout", size: int = 65536) -> bytes:
        """Read what the program wrote to one of its BPF streams (stdout or stderr).

        Raises :class:`NotSupported` on kernels without BPF streams.
        """
        stream_id = _STREAMS.get(stream, 0) if isinstance(stream, str) else int(stream)
        if stream_id not in (1, 2):
            raise ValueError(f"stream is 'stdout' (1) or 'stderr' (2), not {stream!r}")
        fd = self.fd
        buf = ffi.new("char[]", size)
        out = bytearray()
        while True:
            ret = lib.bpf_prog_stream_read(fd, stream_id, buf, size, ffi.NULL)
            if ret < 0:
                if -ret in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP) and not out:
                    raise NotSupported(
                        f"reading BPF stream {stream_id} of {self.name!r}: this "
                        "kernel has no BPF streams (BPF_PROG_STREAM_READ_BY_FD, "
                        "Linux 6.17+)",
                        errno=-ret,
                    )
                raise libbpf_error(-ret, f"reading BPF stream {stream_id} of {self.name!r}")
            if ret == 0:
                return bytes(out)
            out += ffi.buffer(buf, ret)

    # --- test run ---------------------------------------------------------------------

    def _context_type(self) -> RecordType | None:
        """The program's context type: its own BTF first, the kernel's otherwise."""
        if self._ctx_type is False:
            self._ctx_type = _find_ctx_type(self)
        return self._ctx_type  # type: ignore[return-value]

    def _encode_ctx(self, ctx: Any) -> tuple[bytes, RecordType | None]:
        if isinstance(ctx, bytes | bytearray | memoryview):
            return bytes(ctx), None
        if (
            isinstance(ctx, Sequence)
            and not isinstance(ctx, str)
            and self.type == ProgType.RAW_TRACEPOINT
        ):
            try:
                return b"".join(int(v).to_bytes(8, "little", signed=int(v) < 0) for v in ctx), None
            except OverflowError:
                raise LayoutError("raw tracepoint arguments are 64-bit integers") from None
        if isinstance(ctx, Mapping) or hasattr(ctx, "_asdict"):
            rtype = self._context_type()
            if rtype is None:
                raise LayoutError(
                    f"no BTF says what the context of {self.type.label} program "
                    f"{self.name!r} is: give ctx as bytes"
                )
            return rtype.encode(ctx), rtype
        raise TypeError(
            f"ctx is bytes, a mapping of context fields, or (raw tracepoints) "
            f"a list of ints, not {type(ctx).__name__}"
        )

    def test_run(
        self,
        data: bytes = b"",
        *,
        ctx: Any = None,
        repeat: int = 1,
        cpu: int | None = None,
        flags: int = 0,
        batch_size: int | None = None,
    ) -> TestRunResult:
        """Run the program in the kernel on ``data`` (``BPF_PROG_TEST_RUN``).

        ``ctx`` is the context: bytes, or a mapping of its fields (``{"ingress_ifindex":
        3}`` for XDP, ``{"mark": 1}`` for ``__sk_buff``) typed from BTF, or for a raw
        tracepoint a list of its arguments. ``repeat`` runs it that many times (raw
        tracepoint and syscall programs run exactly once). ``flags`` takes
        :class:`TestRunFlag` values; with ``XDP_LIVE_FRAMES`` the frames are really sent
        (``ctx`` must name the ``ingress_ifindex``). Returns the return value, the packet
        as it left, the context as it left, and the mean run time.
        """
        if (
            ctx is None
            and cpu is None
            and batch_size is None
            and not flags
            and self._fast_fd >= 0
            and not _explain_state["on"]
        ):
            # The common case, a packet run with nothing else asked, is one C function
            # (csrc/fastcall.c) that checks data and repeat, runs it (without the GIL when
            # repeated) and builds the result: tests run programs millions of times, and
            # every Python step here is paid each time. It answers an int when it did not run it.
            result = _run_packet(self._fast_fd, data, repeat)
            if type(result) is TestRunResult:
                return result
            if result:  # the errno of a failed run (the program may have run: no retry)
                raise self._test_run_error(result, data, b"", 0)
        return self._test_run(data, ctx, repeat, cpu, flags, batch_size)

    def _test_run(
        self,
        data: bytes,
        ctx: Any,
        repeat: int,
        cpu: int | None,
        flags: int,
        batch_size: int | None,
    ) -> TestRunResult:
        fd = self.fd
        kind = self.type
        raw = data if type(data) is bytes else bytes(data)
        if repeat < 0:
            raise ValueError("repeat must be 0 or more")
        if kind in _RUN_ONCE:
            if repeat > 1:
                raise ValueError(
                    f"{kind.label} programs run once per test_run; repeat must be 1, got {repeat}"
                )
            if raw:
                raise LayoutError(f"{kind.label} programs take no packet: pass ctx instead")
            repeat = 0
        if kind == ProgType.XDP and isinstance(ctx, Mapping) and "data_end" not in ctx:
            # The kernel wants xdp_md.data_end to be the packet's length.
            ctx = {**ctx, "data_end": len(raw)}
        ctx_raw, ctx_type = (b"", None) if ctx is None else self._encode_ctx(ctx)
        if cpu is not None:
            flags |= TestRunFlag.RUN_ON_CPU
        live = bool(flags & TestRunFlag.XDP_LIVE_FRAMES)
        out_cap = 0 if live or not raw else len(raw) + _TEST_RUN_HEADROOM
        data_out = _out_buffer(out_cap)
        ctx_out = ffi.NULL
        if ctx is not None:
            if kind == ProgType.SYSCALL:
                # The kernel writes a syscall program's context back into ctx_in.
                ctx_in = ffi.new("char[]", ctx_raw)
            else:
                ctx_in = ctx_raw
                if kind not in _RUN_ONCE and not live:
                    ctx_out = ffi.new("char[]", len(ctx_raw))
        else:
            ctx_in = ffi.NULL
        result = _result_struct()
        ret = lib.lpy_test_run(
            fd,
            raw,
            len(raw),
            data_out,
            out_cap,
            ctx_in,
            len(ctx_raw),
            ctx_out,
            repeat,
            flags,
            cpu or 0,
            batch_size or 0,
            result,
        )
        if ret < 0:
            raise self._test_run_error(-ret, raw, ctx_raw, flags)
        retval = result.retval
        narrate(
            f"bpf_prog_test_run_opts({self.name!r}, {len(raw)} bytes, repeat={repeat})",
            f"retval {retval}",
            phase="execute",
        )
        out_bytes = ffi.buffer(data_out, result.data_size_out)[:] if out_cap else b""
        ctx_bytes: bytes | None = None
        if ctx is not None:
            if kind == ProgType.SYSCALL:
                ctx_bytes = ffi.buffer(ctx_in, len(ctx_raw))[:]
            elif ctx_out != ffi.NULL:
                ctx_bytes = ffi.buffer(ctx_out, result.ctx_size_out)[:]
        context = None
        if kind == ProgType.FLOW_DISSECTOR:
            # The dissected flow keys come back as the output data.
            keys = self._context_type()
            if keys is not None and len(out_bytes) >= keys.size:
                context = keys.decode(out_bytes)
        elif ctx_type is not None and ctx_bytes is not None and len(ctx_bytes) >= ctx_type.size:
            context = ctx_type.decode(ctx_bytes)
        return TestRunResult(retval, out_bytes, ctx_bytes, result.duration, context)

    def _test_run_error(self, err: int, raw: bytes, ctx: bytes, flags: int) -> Exception:
        kind, name = self.type, self.name
        what = f"test_run of {kind.label} program {name!r}"
        if err == errno.ENOSPC:
            return LayoutError(
                f"{what}: the program's output is larger than "
                f"{len(raw) + _TEST_RUN_HEADROOM} bytes",
                errno=err,
            )
        if err in (524, errno.EOPNOTSUPP, errno.ENOTSUP):
            return NotSupported(
                f"{what}: the kernel cannot test-run {kind.label} programs "
                f"(test_run works for xdp, tc, socket filter, cgroup skb, "
                f"flow dissector, raw tracepoint, syscall ...)",
                errno=err,
            )
        if err == errno.EINVAL:
            if raw and len(raw) < 14 and kind in _PACKET_KINDS:
                return LayoutError(
                    f"{what}: a packet must hold at least an Ethernet header "
                    f"(14 bytes), got {len(raw)}",
                    errno=err,
                )
            if len(raw) > _PAGE - 512 and kind in _PACKET_KINDS:
                return LayoutError(
                    f"{what}: {len(raw)} bytes of data do not fit one page "
                    f"({_PAGE} bytes) less the kernel's head and tail room",
                    errno=err,
                )
        if err == errno.E2BIG:
            return LayoutError(
                f"{what}: the kernel refused the sizes given (batch_size above "
                "its limit of 256 live frames, or a context larger than the "
                f"{kind.label} context)",
                errno=err,
            )
        if err == errno.ENOMEM and kind == ProgType.XDP and len(raw) > _PAGE - 512:
            return LayoutError(
                f"{what}: {len(raw)} bytes of data are more than an XDP test "
                "run holds (one page plus the fragments of one frame)",
                errno=err,
            )
        if err == errno.EINVAL:
            if flags & TestRunFlag.XDP_LIVE_FRAMES:
                return LayoutError(
                    f"{what}: live frames need an XDP program, a ctx naming "
                    "ingress_ifindex, and a packet; the kernel refused this "
                    "combination",
                    errno=err,
                )
            if ctx:
                return LayoutError(
                    f"{what}: the kernel refused this context ({len(ctx)} "
                    "bytes); only some fields may be set for each kind",
                    errno=err,
                )
        return libbpf_error(err, what)


def _fast_run_failed(program: Program, err: int, data: bytes) -> NoReturn:
    raise program._test_run_error(err, data, b"", 0)


# test_run(packet), the call tests make millions of times, in one C call: the Python
# method above stays the definition, and takes every other call (csrc/fastcall.c).
install_test_run(
    Program,
    Program.test_run,
    _fast_run_failed,
    ready="_fast_fd",
    gate=_explain_state,
    gate_key="on",
)


def _out_buffer(size: int) -> Any:
    """A per-thread output buffer, grown as needed: no allocation per test run."""
    if not size:
        return ffi.NULL
    buf = getattr(_scratch, "out", None)
    if buf is None or len(buf) < size:
        buf = _scratch.out = ffi.new("char[]", max(size, 2 * _PAGE))
    return buf


def _result_struct() -> Any:
    res = getattr(_scratch, "result", None)
    if res is None:
        res = _scratch.result = ffi.new("struct lpy_test_run *")
    return res


_kallsyms: dict[int, str] = {}
_call_base: list[int] = []


def _kernel_function(offset: int) -> str | None:
    """The kernel function at ``__bpf_call_base + offset``, as bpftool finds it."""
    if not _call_base:
        try:
            with open("/proc/kallsyms") as f:
                for line in f:
                    addr, kind, name = line.split()[:3]
                    if name == "__bpf_call_base":
                        _call_base.append(int(addr, 16))
                    elif kind in "tTW":
                        _kallsyms.setdefault(int(addr, 16), name)
        except OSError:
            pass
        if not _call_base:
            _call_base.append(0)
    if not _call_base[0]:  # kptr_restrict hides addresses: no names then
        return None
    return _kallsyms.get(_call_base[0] + offset)


def _require_program_fd(fd: int) -> None:
    """An fd from a pin or id must be a program's: the kernel's fdinfo tells."""
    try:
        with open(f"/proc/self/fdinfo/{fd}") as f:
            if any(line.startswith("prog_type:") for line in f):
                return
    except OSError:
        return
    raise LayoutError(
        "the pinned object is not a program (a map or link?): open it with "
        "Map.from_pin or Link.from_pin"
    )


def _xlated_bytes(fd: int, name: str) -> bytes:
    info = ffi.new("struct bpf_prog_info *")
    size = ffi.new("__u32 *", ffi.sizeof("struct bpf_prog_info"))
    check(lib.bpf_prog_get_info_by_fd(fd, info, size), f"reading the info of {name!r}")
    length = info.xlated_prog_len
    if not length:
        return b""
    buf = ffi.new("char[]", length)
    again = ffi.new("struct bpf_prog_info *")
    again.xlated_prog_len = length
    again.xlated_prog_insns = int(ffi.cast("uintptr_t", buf))
    size[0] = ffi.sizeof("struct bpf_prog_info")
    check(
        lib.bpf_prog_get_info_by_fd(fd, again, size),
        f"reading the translated instructions of {name!r}",
    )
    return bytes(ffi.buffer(buf, min(length, again.xlated_prog_len)))


def _find_ctx_type(program: Program) -> RecordType | None:
    from libbpf_py.btf.kinds import BtfKind, Func, FuncProto, Ptr, Struct
    from libbpf_py.query import types_of_btf_id
    from libbpf_py.types._records import RecordType, kernel_types, record_type

    if program.type == ProgType.FLOW_DISSECTOR:
        # Its function takes a __sk_buff, but its test run's context is the flow keys.
        return record_type(kernel_types(), "struct bpf_flow_keys")
    # The object's engine (its BTF parsed once, at load) or the kernel's copy of it.
    parent = program._fd.parent
    types = getattr(parent, "_types", None)
    if parent is None:
        try:
            types = types_of_btf_id(program.info().btf_id)
        except LayoutError:
            types = None
    btf = types.btf if types is not None else None
    if btf is not None:
        for type_id in btf.ids_by_name(program.name):
            func = btf[type_id]
            if not isinstance(func, Func):
                continue
            proto = btf[func.type_id]
            if isinstance(proto, FuncProto) and proto.params:
                ptr = btf.skip_qualifiers(proto.params[0].type_id)
                if isinstance(ptr, Ptr):
                    target = btf.skip_qualifiers(ptr.type_id)
                    if isinstance(target, Struct) and target.kind == BtfKind.STRUCT and target.size:
                        assert types is not None
                        return RecordType(types, target.id, f"struct {target.name}")
    name = _KERNEL_CTX.get(program.type)
    return record_type(kernel_types(), name) if name else None
