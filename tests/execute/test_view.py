"""The running view: info, translated instructions, run statistics, program output."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from libbpf_py._lowlevel import ffi, lib
from libbpf_py.enums import ProgType
from libbpf_py.errors import LayoutError, NotFound, NotSupported, PhaseError
from libbpf_py.mounts import ensure_bpffs
from libbpf_py.program import Program
from libbpf_py.stats import stats_enabled
from libbpf_py.trace import parse_line, trace_pipe
from tests.conftest import requires_root
from tests.execute.conftest import PACKET, Loader

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]


def test_info_describes_the_program(load: Loader) -> None:
    with load("producer") as obj:
        prog = obj.programs["produce_a"]
        info = prog.info()
        assert info.type is ProgType.XDP and info.name == "produce_a"
        assert len(info.tag) == 16 and int(info.tag, 16) >= 0
        assert info.xlated_size > 0 and info.xlated_size % 8 == 0
        assert info.jited_size > 0 and info.verified_insns > 0 and info.btf_id > 0
        map_ids = {
            m.info().id
            for name, m in obj.maps.items()
            if name in ("ring_a",) or name.endswith(".bss")
        }
        assert map_ids <= set(info.map_ids)
        age = datetime.now(UTC) - info.loaded_at
        assert 0 <= age.total_seconds() < 600
        assert info.run_count == 0


def test_xlated_is_disassembled_with_helper_and_map_names(load: Loader) -> None:
    with load("producer") as obj:
        prog = obj.programs["produce_a"]
        lines = prog.xlated()
        assert len(prog.xlated_instructions()) <= len(lines) + 1
        text = "\n".join(lines)
        ring_id = obj.maps["ring_a"].info().id
        assert f"map[id:{ring_id}]" in text
        if "call bpf_ringbuf_reserve" not in text:  # names need /proc/kallsyms addresses
            with open("/proc/kallsyms") as f:
                assert f.readline().startswith("0000000000000000")
        assert lines[-1].split(": ", 1)[1] == "exit"


def test_stats_count_runs_while_enabled(load: Loader) -> None:
    with load("kinds") as obj:
        prog = obj.programs["socket_len"]
        before = prog.stats()
        with stats_enabled():
            prog.test_run(PACKET, repeat=500)
            during = prog.stats()
        prog.test_run(PACKET, repeat=500)
        after = prog.stats()
        assert during.run_count - before.run_count == 500
        assert during.run_time_ns > before.run_time_ns and during.average_ns > 0
        # Switched off again (unless another process holds statistics on meanwhile).
        assert after.run_count - during.run_count in (0, 500)


def test_a_standalone_program_hands_its_fd_over(load: Loader) -> None:
    with load("kinds") as obj:
        prog = obj.programs["socket_len"]
        with pytest.raises(PhaseError, match="belongs to object") as err:
            prog.disown()  # the object's fd: not the program's to give
        assert err.value.phase == "borrowed"
        assert prog.test_run(PACKET).retval == len(PACKET) - 14  # still usable
        again = Program.from_id(prog.info().id)
    fd = again.disown()
    try:
        assert again.closed and not again.loaded
        with pytest.raises(PhaseError, match="handed over by disown"):
            again.test_run(PACKET)
        with pytest.raises(PhaseError, match="handed over by disown"):
            again.disown()
        again.close()  # nothing left to close
        # The fd is the caller's now, and it keeps the program loaded after its object.
        with open(f"/proc/self/fdinfo/{fd}") as f:
            assert any(line.startswith("prog_type:") for line in f)
    finally:
        os.close(fd)


def test_standalone_programs_by_id_and_pin(load: Loader) -> None:
    pin = Path(ensure_bpffs()) / f"lpy-test-prog-{os.getpid()}"
    with load("kinds") as obj:
        prog = obj.programs["socket_len"]
        prog_id = prog.info().id
        with Program.from_id(prog_id) as again:
            assert again._fd.owned
            assert again.info().id == prog_id and again.type is ProgType.SOCKET_FILTER
            assert again.test_run(PACKET).retval == len(PACKET) - 14
        assert again.closed
        with pytest.raises(PhaseError):
            again.test_run(PACKET)
        lib.bpf_obj_pin(prog.fd, os.fsencode(pin))
        try:
            with Program.from_pin(pin) as pinned:
                assert pinned.info().id == prog_id
            a_map = next(iter(obj.maps.values()))
            map_pin = pin.with_name(pin.name + "-map")
            lib.bpf_obj_pin(a_map.fd, os.fsencode(map_pin))
            try:
                with pytest.raises(LayoutError, match="not a program"):
                    Program.from_pin(map_pin)
            finally:
                map_pin.unlink()
        finally:
            pin.unlink()
    with pytest.raises(NotFound):
        Program.from_id(prog_id)  # unloaded with its object
    with pytest.raises(NotFound):
        Program.from_pin(pin)


def test_trace_pipe_yields_bpf_printk_lines(load: Loader) -> None:
    marker = int(time.time() * 1000) % 1_000_000_000
    with load("kinds") as obj:
        lines = trace_pipe(timeout=5)
        obj.programs["say"].test_run(ctx={"a": marker})
        found = None
        for line in lines:
            if f"lpy-trace marker={marker}" in line.message:
                found = line
                break
        lines.close()
        assert found is not None, "the bpf_printk line never came"
        assert found.pid == os.getpid() and found.cpu >= 0
        assert str(found) == f"lpy-trace marker={marker}"


def test_trace_lines_parse() -> None:
    line = parse_line("  python3-4242  [001] d..31  5678.901234: bpf_trace_printk: hello")
    assert (line.task, line.pid, line.cpu, line.timestamp, line.event, line.message) == (
        "python3",
        4242,
        1,
        5678.901234,
        "bpf_trace_printk",
        "hello",
    )
    assert parse_line("no header").message == "no header"


def _streams_supported(prog: Program) -> str | None:
    """None if the kernel has BPF streams, else the probed reason."""
    buf = ffi.new("char[]", 8)
    ret = lib.bpf_prog_stream_read(prog.fd, 1, buf, 8, ffi.NULL)
    if ret >= 0:
        return None
    return f"bpf_prog_stream_read: {os.strerror(-ret)} (errno {-ret})"


def test_stream_read_gets_what_the_program_wrote(load: Loader) -> None:
    with load("stream") as obj:
        prog = obj.programs["speak"]
        reason = _streams_supported(prog)
        if reason is not None:
            with pytest.raises(NotSupported):
                prog.stream_read()
            pytest.skip(f"this kernel has no BPF streams: {reason}")
        result = prog.test_run(ctx=b"")
        ret = result.retval - 2**32 if result.retval >= 2**31 else result.retval
        if ret == -1:
            pytest.skip(
                "bpf_stream_vprintk_impl is missing from this kernel (probed: "
                "bpf_ksym_exists is false)"
            )
        if ret < 0:
            # The read path works (an empty stream), but the kernel wrote nothing.
            assert prog.stream_read() == b""
            pytest.skip(
                f"the kernel's bpf_stream_vprintk_impl failed with "
                f"{os.strerror(-ret)} (errno {-ret}): it could not write the stream"
            )
        assert prog.stream_read() == b"lpy-stream 42\n"
        assert prog.stream_read() == b""  # read once
        assert prog.stream_read("stderr") == b""
        with pytest.raises(ValueError):
            prog.stream_read("stdin")
