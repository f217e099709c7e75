"""Ring buffer benchmarks against a C baseline built in the same run on the same libbpf.

- 8-byte and 128-byte records: RingBuffer.drain() (copies), RingBuffer.borrow() (views
  the ring's pages, released after len()), per-record callbacks (bytes; for 128-byte
  records also decoded as "struct big") and batched callbacks (batch=64, typed as
  "struct big" for 128-byte records), events per second, against ring_buffer__consume
  in C (bench/execute/ringbuf_c.c). test_run is measured in bench/test_run/.

The same producer object (bench/execute/burst.bpf.c: a syscall program writing N records
with bpf_loop, in one BPF_PROG_TEST_RUN) fills the ring before every timed round; only
consuming is timed. C and Python rounds alternate; every figure is the median of at
least 5 repetitions (of 5 rounds each).
Both run on one CPU (the C programs inherit the pin), so that producer and consumer share
the caches the same way on both sides and the scheduler does not move either mid-round.

    sudo .venv/bin/python bench/execute/bench_execute.py [--quick] [--json FILE]

Without --json the results go to bench/results/execute.json as {group: {name: number}}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import libbpf_py  # noqa: E402
from libbpf_py.ringbuf import RingBuffer  # noqa: E402

HERE = Path(__file__).resolve().parent
BATCH = 64  # records per call of the batched callbacks


def build_c(name: str, out: Path) -> Path:
    build = ROOT / "vendor" / "build"
    exe = out / name
    subprocess.run(
        [
            "gcc",
            "-O2",
            "-o",
            str(exe),
            str(HERE / f"{name}.c"),
            f"-I{build / 'usr' / 'include'}",
            f"-I{build / 'src' / 'include' / 'uapi'}",
            str(build / "usr" / "lib64" / "libbpf.a"),
            "-lelf",
            "-lz",
        ],
        check=True,
    )
    return exe


def c_ring_rates(exe: Path, obj: Path, program: str, records: int, rounds: int) -> list[float]:
    out = subprocess.run(
        [str(exe), str(obj), program, str(records), str(rounds)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [float(line.split()[1]) for line in out.splitlines()]


def py_ring_rates(
    obj_path: Path, program: str, records: int, rounds: int, mode: str
) -> list[float]:
    rates = []
    with libbpf_py.ObjectFile(obj_path).open() as opened:
        opened.maps["ring_a"].max_entries = 1 << 25
        with opened.load() as obj:
            prog = obj.programs[program]
            count = [0]

            def on_record(record: bytes) -> None:
                count[0] += 1

            def on_batch(records: list[object]) -> None:
                count[0] += len(records)

            record_type = "struct big" if mode in ("typed", "typed_batch") else None
            batched = mode in ("batch", "typed_batch")
            callback = None if mode in ("drain", "borrow") else on_batch if batched else on_record
            with RingBuffer(
                obj.maps["ring_a"],
                callback,
                record_type=record_type,
                batch=BATCH if batched else None,
            ) as ring:
                for _ in range(rounds):
                    prog.test_run(ctx=struct.pack("<I", records))
                    count[0] = 0
                    start = time.perf_counter()
                    if mode == "drain":
                        got = len(ring.drain())
                    elif mode == "borrow":
                        batch = ring.borrow()
                        got = len(batch)
                        batch.release()
                    else:
                        got = ring.consume()
                        assert count[0] == got
                    elapsed = time.perf_counter() - start
                    assert got == records, (got, records)
                    rates.append(records / elapsed)
    return rates


def median_of(samples: list[float]) -> float:
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument(
        "--json",
        type=Path,
        default=ROOT / "bench" / "results" / "execute.json",
        help="where to write the results ({group: {name: number}})",
    )
    parser.add_argument("--no-pin", action="store_true", help="let the scheduler place us")
    args = parser.parse_args()
    if not args.no_pin:
        cpu = max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        print(f"pinned to CPU {cpu} (C baselines inherit it)")
    repeats = 1 if args.quick else 5
    records = 50_000 if args.quick else 200_000
    rounds = 3 if args.quick else 5
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        producer = libbpf_py.compile(HERE / "burst.bpf.c", out / "burst.o")
        ring_c = build_c("ringbuf_c", out)
        for label, program in (("8-byte", "burst_small"), ("128-byte", "burst_big")):
            modes = ["drain", "borrow", "callback", "batch"]
            if program == "burst_big":  # struct big: u64 seq, u8 payload[120]
                modes += ["typed", "typed_batch"]
            c_rates: list[float] = []
            rates: dict[str, list[float]] = {mode: [] for mode in modes}
            for _ in range(repeats):  # alternate, so that load on the machine hits all
                c_rates += c_ring_rates(ring_c, producer, program, records, rounds)
                for mode in modes:
                    n = records if mode in ("drain", "borrow") else records // 4
                    rates[mode] += py_ring_rates(producer, program, n, rounds, mode)
            c_med = median_of(c_rates)
            row = {"c_events_per_s": c_med}
            for mode in modes:
                med = median_of(rates[mode])
                row[f"{mode}_events_per_s"] = med
                if mode in ("drain", "borrow"):
                    row[f"{mode}_vs_c"] = med / c_med
            results[f"ring {label}"] = row
        # The headline figures take 200,000 records at a time; smaller drains fit in
        # the cache, where C only reads while drain() must also write every byte.
        sweep: dict[str, float] = {}
        for n in (10_000, 50_000, records):
            c_med = median_of(c_ring_rates(ring_c, producer, "burst_big", n, rounds * 2))
            for mode in ("drain", "borrow"):
                med = median_of(py_ring_rates(producer, "burst_big", n, rounds * 2, mode))
                sweep[f"{mode}_vs_c_{n}_records"] = med / c_med
        results["ring 128-byte, by records per call"] = sweep
    for name, row in results.items():
        print(name)
        for key, value in row.items():
            print(f"  {key:30s} {value:>16,.2f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
