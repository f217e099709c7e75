"""User-space instructions per operation, counted by callgrind, for one or more checkouts.

Run as root: ``.venv/bin/python bench/instructions.py [CHECKOUT ...]`` (default: this
one). Wall-clock figures on a shared 2-core machine move by tens of percent from run to
run; callgrind counts the instructions the process itself executes, which do not depend
on what else the machine does. So this is the A/B to run when a change must be shown
"no slower" while other work shares the cores. It does not see the kernel's side of a
system call, which is the same for every checkout; the ratios against C stay in
``bench/maps`` and ``bench/execute``.

Each operation runs in a fresh interpreter of the checkout's own ``.venv`` twice, with a
small and a large count; the difference divided by the difference of the counts is the
cost of one operation, so the imports and the setup cancel out. What is left of the
start-up's own variation (about a million instructions) is spread over the count.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/ is sys.path[0] when this runs as a script; the checkout's root takes its place,
# so that the libbpf_py measured is this checkout's.
sys.path[0] = str(ROOT)

# operation: (small count, large count, what one unit is)
OPERATIONS: dict[str, tuple[int, int, str]] = {
    "lookup": (200, 50200, "m[k] on a u32->u64 hash"),
    "update": (200, 50200, "m[k] = v on a u32->u64 hash"),
    "test_run": (200, 50200, "prog.test_run(64-byte packet)"),
    "callback": (0, 50000, "ring record to a bytes callback"),
    "typed": (0, 50000, "ring record to a typed callback"),
    "drain": (0, 50000, "ring record through drain()"),
    "inspect": (1, 11, "read_object() of a small object"),
}

# The workload, run inside the checkout under test; its argv: checkout, operation, count,
# folder of compiled objects. It uses only the public API, so every checkout runs it.
WORKLOAD = r"""
import struct, sys
from pathlib import Path
root, op, n, objdir = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
sys.path.insert(0, str(root))
import libbpf_py
from libbpf_py import Map
from libbpf_py.ringbuf import RingBuffer

if op in ("lookup", "update"):
    with Map.create("hash", 4, 8, 1000, name="lpy_insns", key_type="u32",
                    value_type="u64") as m:
        for k in range(1000):
            m[k] = k
        if op == "lookup":
            for i in range(n):
                m[i % 1000]
        else:
            for i in range(n):
                m[i % 1000] = i
elif op == "test_run":
    with libbpf_py.ObjectFile(objdir / "filter.o").open() as o, o.load() as obj:
        run = obj.programs["xdp_filter"].test_run
        packet = bytes(64)
        for _ in range(n):
            run(packet)
elif op == "inspect":
    from libbpf_py.inspect import read_object
    data = (objdir / "burst.o").read_bytes()
    for _ in range(n):
        spec = read_object(data, "bench.bpf.o")
        len(spec.programs) + len(spec.globals) + len(spec.maps)
else:
    with libbpf_py.ObjectFile(objdir / "burst.o").open() as o:
        o.maps["ring_a"].max_entries = 1 << 22
        with o.load() as obj:
            prog = obj.programs["burst_big"]
            seen = [0]
            def on_record(record):
                seen[0] += 1
            callback = None if op == "drain" else on_record
            record_type = "struct big" if op == "typed" else None
            with RingBuffer(obj.maps["ring_a"], callback, record_type=record_type) as ring:
                done = 0
                while done < n:
                    k = min(5000, n - done)
                    prog.test_run(ctx=struct.pack("<I", k))
                    got = len(ring.drain()) if op == "drain" else ring.consume()
                    assert got == k, (got, k)
                    done += k
"""


def compile_objects(out: Path) -> None:
    """The ring producer and the demo's filter, compiled once by this checkout."""
    import libbpf_py
    from libbpf_py.demo import filter_source

    libbpf_py.compile(ROOT / "bench" / "execute" / "burst.bpf.c", out / "burst.o")
    libbpf_py.compile(filter_source(), out / "filter.o")


def instructions(checkout: Path, op: str, count: int, objects: Path, script: Path) -> int:
    """What callgrind counted for one run of the workload."""
    python = checkout / ".venv" / "bin" / "python"
    # A fixed hash seed keeps dict layouts, and so the start-up's work, the same per run.
    env = dict(os.environ, LIBBPF_PY_CACHE=str(checkout / ".cache"), PYTHONHASHSEED="0")
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", str(python),
         str(script), str(checkout), op, str(count), str(objects)],
        capture_output=True, text=True, env=env, timeout=1800,
    )  # fmt: skip
    found = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode or not found:
        raise SystemExit(f"{checkout} {op} {count}: the run failed:\n{run.stderr[-2000:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs="*", type=Path, default=[ROOT])
    parser.add_argument("--only", action="append", choices=sorted(OPERATIONS))
    parser.add_argument("--quick", action="store_true", help="a fifth of the large counts")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("bench/instructions.py needs valgrind (./dev installs it)", file=sys.stderr)
        return 2
    ops = args.only or list(OPERATIONS)
    names = [c.resolve().name for c in args.checkouts]
    print(f"{'operation':10} " + " ".join(f"{n:>14}" for n in names) + "   unit")
    with tempfile.TemporaryDirectory() as tmp:
        objects = Path(tmp)
        compile_objects(objects)
        script = objects / "workload.py"
        script.write_text(WORKLOAD)
        for op in ops:
            small, large, unit = OPERATIONS[op]
            if args.quick:
                large = small + max(2, (large - small) // 5)
            per_op = []
            for checkout in args.checkouts:
                low = instructions(checkout.resolve(), op, small, objects, script)
                high = instructions(checkout.resolve(), op, large, objects, script)
                per_op.append((high - low) / (large - small))
            print(f"{op:10} " + " ".join(f"{x:14,.0f}" for x in per_op) + f"   {unit}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
