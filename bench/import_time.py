"""Benchmark: what ``import libbpf_py`` and the first use of its main classes cost.

Usage: python bench/import_time.py [--repeat N] [--quick]

Each run is a fresh interpreter executing::

    import libbpf_py; libbpf_py.ObjectFile; libbpf_py.Map; libbpf_py.RingBuffer

(the attribute lookups load those classes' modules). The child times that line itself
with ``time.perf_counter``: the interpreter's own start-up is the same for every Python
program and no change here can move it, and ``-X importtime`` adds its own bookkeeping
to every import, so it serves only for the second table, the ten imports with the
largest cumulative times (median over three more runs).

The children run with ``-E`` (no PYTHON* variables: a PYTHONPATH or
PYTHONDONTWRITEBYTECODE of the caller's would change what is measured) and with their
bytecode cache in a temporary folder, filled by one warm-up run first, as an installed
package's is. They start in the checkout, so it is the checkout's libbpf_py they import.
Results: printed, and written to bench/results/import_time.json.
"""

from __future__ import annotations

import os
import sys

# Run as a script, this file's folder comes first on sys.path, where bench/inspect.py
# would shadow the standard library's "inspect" for anything importing it; drop it.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "import_time.json"
FIRST_USE = "import libbpf_py; libbpf_py.ObjectFile; libbpf_py.Map; libbpf_py.RingBuffer"
BUDGET_MS = 50.0
TIMED = f"""
import time
start = time.perf_counter()
{FIRST_USE}
elapsed = time.perf_counter() - start
print(elapsed * 1e3, libbpf_py.__file__)
"""


def child(pycache: str, *options: str, code: str = TIMED) -> subprocess.CompletedProcess[str]:
    """One fresh interpreter in the checkout, its bytecode cache in ``pycache``."""
    return subprocess.run(
        [sys.executable, "-E", "-X", f"pycache_prefix={pycache}", *options, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )


def timed_run(pycache: str) -> tuple[float, str]:
    """Milliseconds the line took in a fresh interpreter, and the libbpf_py it imported."""
    ms, path = child(pycache).stdout.split(maxsplit=1)
    return float(ms), path.strip()


def cumulative_times(pycache: str) -> dict[str, float]:
    """``-X importtime``'s cumulative time of every module the line imports, in ms."""
    out = child(pycache, "-X", "importtime", code=FIRST_USE).stderr
    times: dict[str, float] = {}
    for line in out.splitlines():
        if not line.startswith("import time:"):
            continue
        _, cumulative, name = line.split("|")
        if cumulative.strip().isdigit():  # not the header row
            times[name.strip()] = int(cumulative) / 1e3
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="fresh processes timed (≥ 5)")
    parser.add_argument("--quick", action="store_true", help="5 runs (a smoke run)")
    args = parser.parse_args()
    repeat = 5 if args.quick else max(args.repeat, 5)

    with tempfile.TemporaryDirectory(prefix="libbpf_py-import-pycache-") as pycache:
        _, imported = timed_run(pycache)  # warm-up: compiles every module into pycache
        if not Path(imported).resolve().is_relative_to(ROOT):
            sys.exit(f"import_time: the children imported {imported}, not this checkout's")
        runs = [round(timed_run(pycache)[0], 2) for _ in range(repeat)]
        profiles = [cumulative_times(pycache) for _ in range(3)]

    median = round(statistics.median(runs), 2)
    names = set().union(*profiles)
    cumulative = {n: statistics.median(p.get(n, 0.0) for p in profiles) for n in names}
    top = [[n, round(ms, 2)] for n, ms in sorted(cumulative.items(), key=lambda i: -i[1])[:10]]

    verdict = "within" if median <= BUDGET_MS else "OVER"
    print(f"{FIRST_USE}")
    print(f"  in a fresh interpreter, timed in the child by time.perf_counter, {repeat} runs")
    print(f"  runs (ms):  {'  '.join(f'{ms:.1f}' for ms in runs)}")
    print(f"  median:     {median:.1f} ms ({verdict} the {BUDGET_MS:.0f} ms budget)")
    print("top 10 cumulative imports (python -X importtime, median of 3 runs; nested")
    print("imports count in each module that contains them):")
    for name, ms in top:
        print(f"  {ms:7.1f} ms  {name}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "import_ms_median": median,
                "import_ms_runs": runs,
                "top": top,
                "budget_ms": BUDGET_MS,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
