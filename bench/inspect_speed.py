"""Benchmark: full inspection of each corpus object against a bare pyelftools walk of the
same file's sections, and against ``bpftool btf dump file``.

Usage: python bench/inspect_speed.py [--repeat N] [OBJ ...]
Without objects it compiles tests/bpf/corpus/*.bpf.c with libbpf_py.compile first.

"inspect" is read_object(): ELF, the whole BTF and BTF.ext, programs (code checked,
relocations, source lines, CO-RE paths), maps, globals with decoded values. Instruction
objects are made on first use, so a second column, "+insns", also touches every
instruction of every program (what a full disassembly costs on top).
"bare walk" opens the ELF with pyelftools and reads every section's name and data.
"""

from __future__ import annotations

import os
import sys

# Run as a script, this file's folder comes first on sys.path and the file would shadow
# the standard library's "inspect" module; drop that entry before importing anything.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import argparse
import io
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from elftools.elf.elffile import ELFFile

from libbpf_py.inspect import read_object

ROOT = Path(__file__).resolve().parents[1]


def bare_walk(data: bytes) -> int:
    elf = ELFFile(io.BytesIO(data))
    total = 0
    for section in elf.iter_sections():
        total += len(section.name)
        if section["sh_type"] != "SHT_NOBITS":
            total += len(section.data())
    return total


def full_inspection(data: bytes) -> int:
    spec = read_object(data, "bench.bpf.o")
    return len(spec.programs) + len(spec.globals) + len(spec.maps)


def with_instructions(data: bytes) -> int:
    spec = read_object(data, "bench.bpf.o")
    total = 0
    for prog in (*spec.programs.values(), *spec.subprograms.values()):
        total += sum(1 for _ in prog.instructions)
    return total


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Median of ``repeat`` timings after one warm-up call, in milliseconds."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def paired(
    a: Callable[[], object], b: Callable[[], object], repeat: int
) -> tuple[float, float, float]:
    """Time ``a`` and ``b`` back to back ``repeat`` times (after a warm-up), so that load
    from other processes hits both alike; medians of a, b (ms) and of the ratios b/a."""
    a()
    b()
    ta, tb, ratios = [], [], []
    for _ in range(repeat):
        start = time.perf_counter()
        a()
        mid = time.perf_counter()
        b()
        end = time.perf_counter()
        ta.append((mid - start) * 1e3)
        tb.append((end - mid) * 1e3)
        ratios.append((end - mid) / (mid - start))
    return statistics.median(ta), statistics.median(tb), statistics.median(ratios)


def compile_corpus(out: Path) -> list[Path]:
    from libbpf_py import compile

    objects = []
    for src in sorted((ROOT / "tests" / "bpf" / "corpus").glob("*.bpf.c")):
        flags = ("-mcpu=v4",) if src.name.endswith("_v4.bpf.c") else ()
        objects.append(compile(src, out / src.name.replace(".bpf.c", ".bpf.o"), cflags=flags))
    return objects


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("objects", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    bpftool = shutil.which("bpftool")
    with tempfile.TemporaryDirectory() as tmp:
        objects = args.objects or compile_corpus(Path(tmp))
        print(
            f"{'object':24} {'bytes':>7} {'walk ms':>8} {'inspect ms':>10} {'ratio':>6} "
            f"{'+insns ms':>9} {'bpftool ms':>10}"
        )
        ratios = []
        for path in objects:
            data = path.read_bytes()
            walk, full, ratio = paired(
                lambda d=data: bare_walk(d), lambda d=data: full_inspection(d), args.repeat
            )
            insns = best_of(lambda d=data: with_instructions(d), max(3, args.repeat // 3))
            tool = float("nan")
            if bpftool:
                tool = best_of(
                    lambda p=path: subprocess.run(
                        [bpftool, "btf", "dump", "file", str(p)], capture_output=True, check=True
                    ),
                    max(3, args.repeat // 5),
                )
            ratios.append(ratio)
            name = path.name.removesuffix(".bpf.o")
            print(
                f"{name:24} {len(data):7} {walk:8.3f} {full:10.3f} {ratio:6.2f} "
                f"{insns:9.3f} {tool:10.3f}"
            )
        print(
            f"ratio inspect/walk: median {statistics.median(ratios):.2f}, "
            f"max {max(ratios):.2f} (target <= 5)"
        )
        return 0 if max(ratios) <= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
