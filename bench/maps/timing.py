"""What bench/maps/run.py and bench/peers/run.py share: the C baseline, medians of
interleaved repetitions, and the results files the report reads.

On a shared machine the load changes from one second to the next, so a ratio is only
fair when both sides ran under the same load: each repetition runs the C side and then
the Python side, and each side's figure is the median over repetitions (never the best,
which rewards a lucky moment).
"""

from __future__ import annotations

import datetime
import json
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"


def build_c(out: Path) -> Path:
    """Compile bench/maps/c_baseline.c against the vendored libbpf, into ``out``."""
    exe = out / "c_baseline"
    vendor = ROOT / "vendor" / "build"
    subprocess.run(
        [
            "gcc",
            "-O2",
            "-o",
            str(exe),
            str(ROOT / "bench/maps/c_baseline.c"),
            f"-I{vendor / 'usr/include'}",
            f"-I{vendor / 'src/include/uapi'}",
            str(vendor / "usr/lib64/libbpf.a"),
            "-lelf",
            "-lz",
        ],
        check=True,
    )
    return exe


def c_run(exe: Path, *args: object) -> float:
    """Run the C baseline; its one output number (a median over its own rounds)."""
    out = subprocess.run(
        [str(exe), *map(str, args)], check=True, capture_output=True, text=True
    ).stdout
    return float(out.strip())


def run_ns(fn: Callable[[], object], ops: int, rounds: int) -> float:
    """ns per operation of ``fn`` (which does ``ops``): one warm-up call, then the
    median of ``rounds`` calls."""
    fn()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        fn()
        times.append((time.perf_counter_ns() - t0) / ops)
    return statistics.median(times)


def interleaved(sides: Sequence[tuple[str, Callable[[], float]]], reps: int) -> dict[str, float]:
    """Run every side once per repetition, in order, ``reps`` times; the median of each.

    A side is a name and a function returning one figure (ns per operation)."""
    runs: dict[str, list[float]] = {name: [] for name, _ in sides}
    for _ in range(reps):
        for name, side in sides:
            runs[name].append(side())
    return {name: statistics.median(values) for name, values in runs.items()}


def meta(reps: int, quick: bool) -> dict[str, Any]:
    """When, where and how a run measured: the report's header comes from this."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%MZ"),
        "kernel": platform.release(),
        "commit": commit,
        "repetitions": reps,
        "quick": quick,
    }


def write_results(name: str, results: dict[str, Any], *also: Path) -> None:
    """Write ``results`` as bench/results/NAME.json (and to each path in ``also``)."""
    text = json.dumps(results, indent=2) + "\n"
    RESULTS.mkdir(exist_ok=True)
    for path in (RESULTS / f"{name}.json", *also):
        path.write_text(text)


def print_results(results: dict[str, Any]) -> None:
    """The groups of ``results`` as an aligned table on stdout."""
    for group, values in results.items():
        print(f"[{group}]")
        for key, value in values.items():
            if isinstance(value, float):
                print(f"  {key:28} {value:12.2f}")
            else:
                print(f"  {key:28} {value!s:>12}")
