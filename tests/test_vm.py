"""libbpf_py.vm and ``pytest --bpf-kernel``: commands and test sessions in other kernels."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from libbpf_py import vm
from libbpf_py.errors import NotSupported
from libbpf_py.kernels import KernelPackage, fetch_kernel
from libbpf_py.pytest_plugin import (
    KernelOutcome,
    _file_durations,
    _read_junit,
    _strip_kernel_args,
)

pytest_plugins = ["pytester"]

IN_GUEST = vm.guest_release() is not None


def _boot_problem() -> str | None:
    if IN_GUEST:
        return (
            f"inside guest kernel {vm.guest_release()}: a nested guest would run under "
            "software emulation, too slowly"
        )
    try:
        vm.require_vm_tools()
    except NotSupported as e:
        return str(e)
    if shutil.which("apt-get") is None:
        return "fetching a Debian kernel needs apt-get"
    return None


boots = pytest.mark.skipif(_boot_problem() is not None, reason=str(_boot_problem()))


@pytest.fixture(scope="module")
def kernel61() -> KernelPackage:
    return fetch_kernel("6.1")


def test_missing_extra_names_the_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(vm.GUEST_ENV, raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(NotSupported, match=r"pip install 'libbpf_py\[vm\]'"):
        vm.require_vm_tools()


def test_missing_qemu_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("virtme_ng") is None:
        pytest.skip("virtme-ng (libbpf_py[vm]) is not installed")
    monkeypatch.delenv(vm.GUEST_ENV, raising=False)
    real = shutil.which
    monkeypatch.setattr(
        shutil,
        "which",
        lambda name, *a, **k: None if name.startswith("qemu") else real(name, *a, **k),
    )
    with pytest.raises(NotSupported, match=r"apt-get install qemu-system-x86$"):
        vm.require_vm_tools()


def test_no_guest_inside_a_guest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(vm.GUEST_ENV, "6.1.0-50-amd64")
    with pytest.raises(NotSupported, match="already inside a guest kernel"):
        vm.require_vm_tools()


def test_the_guest_gets_the_invocation_without_bpf_kernel() -> None:
    args = [
        "-x",
        "--bpf-kernel",
        "6.1",
        "tests/a.py",
        "--bpf-kernel=6.12",
        "--bpf-kernel-timeout",
        "60",
        "--bpf-kernel-jobs",
        "2",
        "--bpf-shard=1/3",
        "-k",
        "foo",
        "--bpf-kernel-jobs=3",
    ]
    assert _strip_kernel_args(args) == ["-x", "tests/a.py", "-k", "foo"]


def test_shards_split_whole_files_and_cover_every_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_three="def test_a(): pass\ndef test_b(): pass\ndef test_c(): pass\n",
        test_two="def test_d(): pass\ndef test_e(): pass\n",
        test_one="def test_f(): pass\n",
    )
    ran = []
    for part in ("1/2", "2/2"):
        result = pytester.runpytest("--bpf-shard", part, "-v", "-p", "no:cacheprovider")
        assert result.ret == 0
        ran.append({ln.split("::")[1].split()[0] for ln in result.outlines if " PASSED" in ln})
    # The largest file alone, then the other two: 3 tests each, none twice, none left out.
    assert ran == [{"test_a", "test_b", "test_c"}, {"test_d", "test_e", "test_f"}]
    bad = pytester.runpytest("--bpf-shard", "3/2")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    assert "expected I/N with 1 <= I <= N" in bad.stderr.str()


def test_shards_balance_by_recorded_seconds(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_three="def test_a(): pass\ndef test_b(): pass\ndef test_c(): pass\n",
        test_two="def test_d(): pass\ndef test_e(): pass\n",
        test_slow="import time\ndef test_f(): time.sleep(0.3)\n",
    )
    # A JUnit file of a whole run gives each file's seconds, as a --bpf-kernel session
    # records them; with them the one slow test makes a part of its own.
    whole = pytester.runpytest("--junitxml=whole.xml", "-p", "no:cacheprovider")
    assert whole.ret == 0
    seconds = _file_durations(pytester.path / "whole.xml", pytester.path)
    assert set(seconds) == {"test_three.py", "test_two.py", "test_slow.py"}
    assert seconds["test_slow.py"] >= 0.3 > seconds["test_three.py"]
    (pytester.path / "seconds.json").write_text(json.dumps(seconds))
    ran = []
    for part in ("1/2", "2/2"):
        result = pytester.runpytest(
            "--bpf-shard", part, "--bpf-shard-durations", "seconds.json", "-v",
            "-p", "no:cacheprovider",
        )  # fmt: skip
        assert result.ret == 0
        ran.append({ln.split("::")[1].split()[0] for ln in result.outlines if " PASSED" in ln})
    assert ran == [{"test_f"}, {"test_a", "test_b", "test_c", "test_d", "test_e"}]
    (pytester.path / "seconds.json").write_text("[1, 2]")
    bad = pytester.runpytest("--bpf-shard", "1/2", "--bpf-shard-durations", "seconds.json")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    assert "expected a JSON object" in bad.stderr.str()


def test_a_guest_with_failures_fails_its_kernel(tmp_path: Path) -> None:
    junit = tmp_path / "r.xml"
    junit.write_text(
        '<?xml version="1.0"?><testsuites><testsuite name="pytest" errors="1" '
        'failures="2" skipped="3" tests="10" time="1.0"/></testsuites>'
    )
    outcome = KernelOutcome("6.1.0-50-amd64", accelerator="tcg", exit_code=1)
    _read_junit(junit, outcome)
    assert (outcome.passed, outcome.failed, outcome.skipped, outcome.errors) == (4, 2, 3, 1)
    assert not outcome.ok
    assert "4 passed, 2 failed, 3 skipped, 1 errors" in outcome.line()
    assert KernelOutcome("x", exit_code=0, passed=3).ok
    assert not KernelOutcome("x", exit_code=None, problem="did not boot").ok


def _ours(marker: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline and proc.name != str(os.getpid()):
            found.append(f"{proc.name}: {cmdline[:120]}")
    return found


@boots
def test_timeout_stops_the_guest_and_leaves_nothing(
    kernel61: KernelPackage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIBBPF_PY_CACHE", str(tmp_path))  # a run folder only this test uses
    with pytest.raises(vm.GuestTimeout, match="did not finish in 15 s"):
        vm.run_in_kernel(
            kernel61, ["sleep", "600"], cwd=tmp_path, timeout=15, kvm=False, stream=False
        )
    assert _ours(str(tmp_path)) == []
    assert list((tmp_path / "vm" / "runs").iterdir()) == []


@boots
def test_bpf_kernel_runs_a_users_tests_inside_61(
    pytester: pytest.Pytester, kernel61: KernelPackage
) -> None:
    # Two files and two jobs: two guests of the same kernel at once, one file each.
    pytester.makepyfile(
        test_on_other_kernels=textwrap.dedent("""
        import os

        def test_runs_inside_the_guest_kernel():
            release = os.uname().release
            print("running on", release)
            assert release.startswith("6.1.") and release == os.environ["LIBBPF_PY_GUEST"]
    """),
        test_bpffs=textwrap.dedent("""
        import os

        def test_bpffs_is_mounted():
            print("bpffs checked in", os.uname().release)
            assert os.path.ismount("/sys/fs/bpf")
    """),
    )
    result = pytester.runpytest_subprocess(
        "--bpf-kernel", "6.1", "--bpf-kernel-jobs", "2", "-s", "-p", "no:cacheprovider", timeout=900
    )
    out = result.stdout.str()
    assert result.ret == 0, out + result.stderr.str()
    assert f"running on {kernel61.release}" in out
    assert f"bpffs checked in {kernel61.release}" in out
    assert out.count(f"libbpf_py: inside guest kernel {kernel61.release}") == 2
    for part in (1, 2):
        assert f"guest kernel {kernel61.release}, part {part} of 2: started" in out
    result.stdout.re_match_lines(
        [
            rf"{kernel61.release} \((kvm|tcg)\): 2 passed, 0 failed, "
            r"0 skipped, 0 errors in [0-9.]+ s \(in all, over 2 guests\), pytest exit 0"
        ]
    )


@boots
def test_a_killed_caller_leaves_no_guest_behind(kernel61: KernelPackage, tmp_path: Path) -> None:
    # SIGKILL gives run_in_kernel no chance to clean up: the watchdog at the head of the
    # guest's process group must end qemu itself.
    caller = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import os
        from libbpf_py.kernels import fetch_kernel
        from libbpf_py.vm import run_in_kernel
        kernel = fetch_kernel({kernel61.release!r})
        os.environ["LIBBPF_PY_CACHE"] = {str(tmp_path)!r}  # a run folder only this test uses
        run_in_kernel(kernel, ["sleep", "600"], cwd={str(tmp_path)!r}, timeout=600,
                      kvm=False, stream=False)
        """),
        ]
    )
    try:
        deadline = time.monotonic() + 120
        while not any("qemu-system" in p for p in _ours(str(tmp_path))):
            assert caller.poll() is None, "run_in_kernel ended before qemu started"
            assert time.monotonic() < deadline, "qemu did not start in 120 s"
            time.sleep(0.2)
        caller.send_signal(signal.SIGKILL)
        caller.wait()
        deadline = time.monotonic() + 20
        while _ours(str(tmp_path)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _ours(str(tmp_path)) == []
        # Its run folder stayed (its cleanup never ran); the next boot's sweep removes it,
        # and only it.
        runs = tmp_path / "vm" / "runs"
        left = list(runs.glob("run-*"))
        assert len(left) == 1
        alive = runs / "run-alive"
        alive.mkdir()
        (alive / "owner").write_text(vm._process_identity(os.getpid()) or "")
        assert vm.sweep_runs(runs) == left
        assert list(runs.iterdir()) == [alive]
    finally:
        caller.kill()
        caller.wait()
