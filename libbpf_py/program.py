"""A loaded program: attach it (phase 5), run it with test_run, ask the kernel about it."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from libbpf_py._handle import c_string
from libbpf_py._lowlevel import check, ffi, lib, raise_errno
from libbpf_py.attach import AttachMixin
from libbpf_py.enums import AttachType, ProgType
from libbpf_py.errors import LayoutError, NotSupported, PhaseError
from libbpf_py.explain import narrate

if TYPE_CHECKING:
    from libbpf_py.loaded import LoadedObject

__all__ = ["Program", "ProgramInfo", "TestRunResult", "program_info"]

_TEST_RUN_HEADROOM = 4096  # room for programs that grow the packet (adjust_head/tail)


@dataclass(frozen=True)
class TestRunResult:
    """What one ``BPF_PROG_TEST_RUN`` returned."""

    __test__ = False  # not a pytest test class

    retval: int
    data_out: bytes
    ctx_out: bytes | None
    duration_ns: int


@dataclass(frozen=True)
class ProgramInfo:
    """What the kernel reports about a loaded program (``bpf_prog_get_info_by_fd``)."""

    id: int
    name: str
    type: ProgType
    tag: str
    jited_size: int
    xlated_size: int
    load_time_ns: int
    map_ids: tuple[int, ...]
    btf_id: int
    run_count: int
    run_time_ns: int
    verified_insns: int


class Program(AttachMixin):
    """A program of a :class:`~libbpf_py.LoadedObject`, loaded into the kernel.

    It stays valid while its object is open; it keeps the object alive.
    """

    def __init__(self, owner: LoadedObject, ptr: Any, verifier_log: list[str] | None) -> None:
        self._owner = owner
        self._ptr = ptr
        self.name = c_string(lib.bpf_program__name(ptr))
        self.section = c_string(lib.bpf_program__section_name(ptr))
        self.type = ProgType.coerce(lib.bpf_program__type(ptr))
        self.expected_attach_type = AttachType.coerce(lib.bpf_program__expected_attach_type(ptr))
        self.verifier_log = verifier_log or []
        self._fd = int(lib.bpf_program__fd(ptr))

    def __repr__(self) -> str:
        return f"<Program {self.name!r} {self.type.label}>"

    @property
    def loaded(self) -> bool:
        """Whether this program is in the kernel (False if its autoload was off)."""
        return self._fd >= 0 and not self._owner.closed

    @property
    def fd(self) -> int:
        """The program's file descriptor (owned by its object; do not close it)."""
        if self._owner.closed:
            raise PhaseError(f"program {self.name!r} belongs to a closed object",
                             phase="closed", needed="loaded")
        if self._fd < 0:
            raise PhaseError(f"program {self.name!r} was not loaded (its autoload was off)",
                             phase="open", needed="loaded")
        return self._fd

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

    def test_run(self, data: bytes = b"", *, ctx: bytes | None = None, repeat: int = 1,
                 cpu: int | None = None, flags: int = 0,
                 batch_size: int | None = None) -> TestRunResult:
        """Run the program once per ``repeat`` on ``data`` in the kernel (BPF_PROG_TEST_RUN).

        Returns the program's return value, the packet as it left the program, the
        context as it left (when ``ctx`` was given), and the mean run time.
        """
        fd = self.fd
        if repeat < 0:
            raise ValueError("repeat must be 0 or more")
        raw = bytes(data)
        opts = ffi.new("struct bpf_test_run_opts *")
        opts.sz = ffi.sizeof("struct bpf_test_run_opts")
        data_in = ffi.from_buffer(raw)
        out_size = len(raw) + _TEST_RUN_HEADROOM if raw else 0
        data_out = ffi.new("char[]", out_size) if out_size else ffi.NULL
        if raw:
            opts.data_in = data_in
            opts.data_size_in = len(raw)
            opts.data_out = data_out
            opts.data_size_out = out_size
        ctx_in = ctx_out = None
        if ctx is not None:
            ctx_in = ffi.from_buffer(bytes(ctx))
            ctx_out = ffi.new("char[]", len(ctx))
            opts.ctx_in = ctx_in
            opts.ctx_size_in = len(ctx)
            opts.ctx_out = ctx_out
            opts.ctx_size_out = len(ctx)
        opts.repeat = repeat
        opts.flags = flags
        if cpu is not None:
            opts.cpu = cpu
            opts.flags |= 1 << 1  # BPF_F_TEST_RUN_ON_CPU
        if batch_size is not None:
            opts.batch_size = batch_size
        ret = lib.bpf_prog_test_run_opts(fd, opts)
        if ret < 0:
            err = -ret
            if err == errno.ENOSPC:
                raise LayoutError(f"test_run of {self.name!r}: the program's output is larger "
                                  f"than {out_size} bytes", errno=err)
            if err == errno.EINVAL and raw and len(raw) < 14 and self.type in (
                    ProgType.XDP, ProgType.SCHED_CLS, ProgType.SCHED_ACT):
                raise LayoutError(f"test_run of {self.name!r}: a packet must hold at least an "
                                  f"Ethernet header (14 bytes), got {len(raw)}", errno=err)
            exc = raise_errno(err, f"test_run of {self.type.label} program {self.name!r}")
            if err in (524, errno.EOPNOTSUPP, errno.ENOTSUP):
                raise NotSupported(f"test_run of {self.type.label} program {self.name!r}: the "
                                   "kernel cannot test-run this program type", errno=err)
            raise exc
        narrate(f"bpf_prog_test_run_opts({self.name!r}, {len(raw)} bytes, repeat={repeat})",
                f"retval {opts.retval}", phase="execute")
        return TestRunResult(
            retval=opts.retval,
            data_out=bytes(ffi.buffer(data_out, opts.data_size_out)) if raw else b"",
            ctx_out=bytes(ffi.buffer(ctx_out, opts.ctx_size_out)) if ctx_out is not None
            else None,
            duration_ns=opts.duration)


def program_info(fd: int, name: str = "") -> ProgramInfo:
    """Ask the kernel about the program behind ``fd`` (``bpf_prog_get_info_by_fd``)."""
    what = f"program {name!r}" if name else f"the program of fd {fd}"
    info = ffi.new("struct bpf_prog_info *")
    size = ffi.new("__u32 *", ffi.sizeof("struct bpf_prog_info"))
    check(lib.bpf_prog_get_info_by_fd(fd, info, size), f"reading the info of {what}")
    count = info.nr_map_ids
    map_ids: tuple[int, ...] = ()
    if count:
        ids = ffi.new("__u32[]", count)
        again = ffi.new("struct bpf_prog_info *")
        again.nr_map_ids = count
        again.map_ids = int(ffi.cast("uintptr_t", ids))
        size[0] = ffi.sizeof("struct bpf_prog_info")
        check(lib.bpf_prog_get_info_by_fd(fd, again, size),
              f"reading the map ids of {what}")
        map_ids = tuple(ids[i] for i in range(min(count, again.nr_map_ids)))
    return ProgramInfo(
        id=info.id, name=ffi.string(info.name).decode(errors="replace"),
        type=ProgType.coerce(info.type), tag=bytes(info.tag).hex(),
        jited_size=info.jited_prog_len, xlated_size=info.xlated_prog_len,
        load_time_ns=info.load_time, map_ids=map_ids, btf_id=info.btf_id,
        run_count=info.run_cnt, run_time_ns=info.run_time_ns,
        verified_insns=info.verified_insns)
