"""The main job: the packet-filter demo, end to end, from the command line."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import libbpf_py
from tests.conftest import requires_root

pytestmark = requires_root


def test_walkthrough_passes_then_drops() -> None:
    from libbpf_py.demo.walkthrough import PACKETS, run_walkthrough

    out = io.StringIO()
    result = run_walkthrough(out)
    text = out.getvalue()
    assert result.ok, text
    assert result.received_before == PACKETS and result.received_after == 0
    assert result.dropped == PACKETS and result.passed >= PACKETS
    for step in (
        "check the environment",
        "write the packet filter",
        "CO-RE compile",
        "inspect the compiled object",
        "open, load and attach",
        "inspect the running program",
        "watch it filter packets",
        "read the counters",
        "detach and unload",
        "confirm nothing is left",
    ):
        assert step in text
    assert f"program {result.program_id}: gone" in text


def test_python_m_demo_exits_zero_and_narrates() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "libbpf_py", "demo"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "packets passed, then were dropped by the filter - OK" in proc.stdout
    assert "bpf_object__load('xdp_filter')" in proc.stderr  # teaching mode narrates


def test_console_script() -> None:
    script = Path(sys.executable).with_name("libbpf-py")
    assert script.exists() or shutil.which("libbpf-py")
    proc = subprocess.run([str(script), "version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "libbpf 1.7.0" in proc.stdout


def test_explain_narrates_each_phase(filter_object: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="libbpf_py.explain")
    with libbpf_py.explain(), libbpf_py.ObjectFile(filter_object).open() as obj, obj.load():
        pass
    text = caplog.text
    assert "[open] bpf_object__open_mem" in text
    assert "[load] bpf_object__load" in text
    assert "[tear down] bpf_object__close" in text
    assert not libbpf_py.explaining()


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "libbpf_py", "compile", str(tmp_path / "missing.bpf.c")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 66  # not found
    assert proc.stderr.strip().count("\n") == 0
    assert "no BPF source file" in proc.stderr
