"""Hostile objects: coverage-guided fuzzing of inspect() and open(), and the inputs that
once broke them.

Each fuzzing run is its own process (tests/reliability/fuzz/harness.py under atheris):
a crash inside libbpf ends that process, not the test run, and leaves the input as
``crash-*``. The harness accepts only two endings per input: success or a
:class:`libbpf_py.BpfError`. Every input ever found is kept under
``tests/reliability/regressions/<target>/`` and replayed here, each target in a fresh
process. ``fuzz/native.sh`` fuzzes libbpf's parser itself in C (ASan + coverage); it runs
here for a short time when clang's libFuzzer is installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.conftest import HERE, LONG, ROOT, Figures, scale

REGRESSIONS = HERE / "regressions"
DONE = re.compile(r"Done (\d+) runs in")


def _harness(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.reliability.fuzz.harness", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def seeds(
    corpus_objects: list[Path], soak_object: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    folder = tmp_path_factory.mktemp("fuzz_seeds")
    for obj in [*corpus_objects, soak_object]:
        shutil.copy(obj, folder / obj.name)
    for found in REGRESSIONS.glob("*/*.bin"):
        shutil.copy(found, folder / found.name)
    return folder


def _crashes(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-", "leak-"))
    )


@pytest.mark.parametrize("target", ["inspect", "open", "link"])
def test_fuzz(target: str, seeds: Path, tmp_path: Path, figures: Figures) -> None:
    # inspect() renders every input whole (JSON, disassembly): fewer, slower runs. The
    # linker is a second parser of the same formats, fuzzed for less time.
    runs = {
        "inspect": scale(10000, 200000),
        "open": scale(30000, 2000000),
        "link": scale(5000, 500000),
    }[target]
    # A time bound as well as a count: under software emulation (the kernel matrix's
    # guests) the count takes several times longer; the figures show how many ran.
    seconds = scale(60, 3600) if target == "link" else scale(180, 7000)
    work = tmp_path / "corpus"
    work.mkdir()
    proc = _harness(
        target,
        f"-runs={runs}",
        f"-max_total_time={seconds}",
        f"-artifact_prefix={tmp_path}/",
        "-max_len=1000000",
        "-rss_limit_mb=4096",
        "-timeout=60",
        str(work),
        str(seeds),
        timeout=seconds + 180,
    )
    crashes = _crashes(tmp_path)
    figures.add(
        f"fuzz.{target}.executions", int(m.group(1)) if (m := DONE.search(proc.stderr)) else 0
    )
    figures.add(f"fuzz.{target}.crashes_open", len(crashes))
    for crash in crashes:  # keep them where a developer finds them
        keep = ROOT / "build" / "reliability" / "crashes" / target
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(crash, keep / crash.name)
    assert proc.returncode == 0 and not crashes, (
        f"the {target} fuzzer found {len(crashes)} input(s) that end in neither success "
        f"nor a BpfError (copied to build/reliability/crashes/{target}/; add them to "
        f"tests/reliability/regressions/{target}/ with the fix):\n{proc.stderr[-3000:]}"
    )
    assert DONE.search(proc.stderr), proc.stderr[-2000:]


@pytest.mark.parametrize("target", ["inspect", "open", "link"])
def test_regressions_end_in_library_errors(target: str, figures: Figures) -> None:
    """Every input the fuzzers ever found, through both doors, in a fresh process."""
    files = sorted(str(p) for p in REGRESSIONS.glob("*/*.bin"))
    assert files, "the regression inputs are missing"
    proc = _harness(f"replay-{target}", *files, timeout=120)
    assert proc.returncode == 0, f"a regression input broke {target} again:\n{proc.stderr[-3000:]}"
    figures.add(f"fuzz.{target}.regressions_replayed", len(files))


def _native_fuzzer_problem() -> str | None:
    if shutil.which("clang-19") is None:
        return "clang-19 is not installed"
    lib = Path("/usr/lib/llvm-19/lib/clang/19/lib/linux/libclang_rt.fuzzer-x86_64.a")
    if not lib.exists():
        return f"clang's libFuzzer runtime is missing ({lib})"
    if not any((ROOT / "vendor" / "download").glob("libbpf_*.orig.tar.gz")) and not os.environ.get(
        "LIBBPF_PY_TARBALL"
    ):
        return "the pinned libbpf tarball is not fetched"
    return None


def test_native_fuzz_of_libbpf_parser(seeds: Path, tmp_path: Path, figures: Figures) -> None:
    """libbpf's own parser under ASan and coverage, then its findings through open()."""
    problem = _native_fuzzer_problem()
    if problem:
        pytest.skip(f"native fuzzing needs clang's libFuzzer: {problem}")
    seconds = scale(20, 600)
    work = tmp_path / "corpus"
    work.mkdir()
    proc = subprocess.run(
        [
            str(HERE / "fuzz" / "native.sh"),
            f"-max_total_time={seconds}",
            f"-artifact_prefix={tmp_path}/",
            "-max_len=200000",
            "-rss_limit_mb=4096",
            "-timeout=30",
            str(work),
            str(seeds),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 600,
        # the fuzzer carries its own ASan runtime: none preloaded
        env={k: v for k, v in os.environ.items() if k != "LD_PRELOAD"},
    )
    figures.add(
        "fuzz.native_libbpf.executions", int(m.group(1)) if (m := DONE.search(proc.stderr)) else 0
    )
    crashes = _crashes(tmp_path)
    # A crash of libbpf itself is what Python must prevent: the same bytes through
    # open() must end in a library error.
    if crashes:
        replay = _harness("replay-open", *map(str, crashes), timeout=120)
        keep = ROOT / "build" / "reliability" / "crashes" / "native"
        keep.mkdir(parents=True, exist_ok=True)
        for crash in crashes:
            shutil.copy(crash, keep / crash.name)
        assert replay.returncode == 0, (
            f"libbpf crashed on {len(crashes)} input(s) that open() does not refuse "
            f"(copied to build/reliability/crashes/native/):\n{replay.stderr[-3000:]}"
        )
    figures.add("fuzz.native_libbpf.crashes_in_libbpf", len(crashes))
    assert proc.returncode == 0 or crashes, proc.stderr[-3000:]
    assert LONG or seconds == 20


def test_unknown_map_type_is_refused_at_open() -> None:
    """Regression: the type number reached OpenMap.type, which raised a bare ValueError."""
    import libbpf_py
    from libbpf_py.errors import ObjectFormatError

    data = (REGRESSIONS / "open" / "unknown-map-type.bin").read_bytes()
    with pytest.raises(ObjectFormatError, match=r"declares type 281"):
        libbpf_py.ObjectFile(data).open()
