"""libbpf_py next to its Python peers and C, on the same pinned maps, in the same run.

Run as root with the project's venv: ``.venv/bin/python bench/peers/run.py [--quick]``.
The peers (pylibbpf, bpfmaps) live in their own venv, ``bench/.peers-venv``, which
``./dev bench`` makes; each runs in a worker process (``bench/peers/worker.py``, started
with that venv's python) that answers one command at a time, so every repetition
measures C, libbpf_py and each peer one after the other under the same load.

The maps come from ``bench/peers/peer.bpf.c``, loaded here by libbpf_py: a u32 -> u64
hash and a perf event array, pinned by name under /sys/fs/bpf, which a peer's load of
the same object reuses. Measured: lookup and update (ns per operation over 1,000 keys),
iteration over every item (ns per entry; C is one batch dump) and perf-buffer samples
(ns per sample, sent by the object's program through test_run). Each ratio is printed
against C and against libbpf_py; the results go to ``bench/results/peers.json``. A peer
that cannot be installed or fails is reported as such, and the others go on.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "maps"))

from timing import build_c, c_run, meta, print_results, run_ns, write_results  # noqa: E402

import libbpf_py  # noqa: E402
from libbpf_py import PerfBuffer  # noqa: E402
from libbpf_py.maps import Map  # noqa: E402

PEERS_VENV = ROOT / "bench" / ".peers-venv"
PEERS = ("pylibbpf", "bpfmaps")
BPFFS = Path("/sys/fs/bpf")
N = 1000  # entries of the hash (peer.bpf.c's max_entries)
EVENTS = 4096  # samples per perf measurement
PAGES = 64  # perf buffer pages per CPU: room for every sample of a round
OPS = ("lookup", "update", "iterate", "perf")


class Worker:
    """A peer's worker process and its one-line-per-command protocol."""

    def __init__(self, peer: str, python: Path, cmd: dict[str, Any]) -> None:
        self.peer = peer
        self.proc = subprocess.Popen(
            [str(python), str(ROOT / "bench/peers/worker.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.opened = self.ask({"op": "open", "peer": peer, **cmd})

    def ask(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """Send one command; the worker's answer (``{"error": ...}`` if it died)."""
        assert self.proc.stdin and self.proc.stdout
        try:
            self.proc.stdin.write(json.dumps(cmd) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            return {"error": f"the {self.peer} worker exited ({self.proc.poll()})"}
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        """Ask the worker to quit, and wait for it."""
        if self.proc.poll() is None:
            self.ask({"op": "quit"})
        self.proc.wait(timeout=30)


def installed(python: Path) -> dict[str, str]:
    """Each peer's installed version, or why it is not there."""
    found: dict[str, str] = {}
    for peer in PEERS:
        if not python.exists():
            found[peer] = f"not installed: no peers venv at {PEERS_VENV} (./dev bench makes it)"
            continue
        probe = subprocess.run(
            [
                str(python),
                "-c",
                f"import {peer}; from importlib.metadata import version; print(version({peer!r}))",
            ],
            capture_output=True,
            text=True,
        )
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        found[peer] = probe.stdout.strip() if probe.returncode == 0 else f"not usable: {last}"
    return found


def median(values: list[float]) -> float:
    """The median of ``values`` (which is not empty)."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def measure(quick: bool) -> dict[str, Any]:
    """Every side, every operation, interleaved; the results by side."""
    reps, rounds = (5, 3) if quick else (11, 5)
    python = PEERS_VENV / "bin" / "python"
    versions = installed(python)
    tag = os.getpid()
    names = {"hash_name": f"lpyp_{tag}", "events_name": f"lpye_{tag}"}
    pins = [BPFFS / names["hash_name"], BPFFS / names["events_name"]]
    probe_dir = BPFFS / f"lpy_peers_{tag}"
    results: dict[str, Any] = {"meta": meta(reps, quick)}
    workers: dict[str, Worker] = {}
    from libbpf_py.mounts import ensure_bpffs

    ensure_bpffs()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            exe = build_c(Path(tmp))
            obj = libbpf_py.compile(
                ROOT / "bench/peers/peer.bpf.c",
                Path(tmp) / "peer.bpf.o",
                defines={"PEER_HASH": names["hash_name"], "PEER_EVENTS": names["events_name"]},
            )
            with libbpf_py.ObjectFile(obj).open() as opened, opened.load() as loaded:
                m = loaded.maps[names["hash_name"]]
                events = loaded.maps[names["events_name"]]
                prog = loaded.programs["send_event"]
                for k in range(N):
                    m[k] = k
                # A map with a kernel name but pinned in a folder: what bpfmaps finds.
                probe_dir.mkdir()
                probe = Map.create("hash", 4, 8, 1, name=f"lpyq_{tag}")
                probe.pin(probe_dir / "probe")
                cmd = {
                    **names,
                    "object": str(obj),
                    "prog_id": prog.id,
                    "probe_name": f"lpyq_{tag}",
                    "probe_where": str(probe_dir / "probe"),
                }
                for peer in PEERS:
                    if versions[peer].startswith("not "):
                        continue
                    w = Worker(peer, python, cmd)
                    if "error" in w.opened:
                        versions[peer] = f"not usable: {w.opened['error']}"
                        w.close()
                        continue
                    workers[peer] = w
                results["sides"] = _interleave(exe, (m, events, prog), workers, reps, rounds)
                results["peers"] = {
                    peer: {
                        "version": versions[peer],
                        "notes": workers[peer].opened.get("notes", []) if peer in workers else [],
                    }
                    for peer in PEERS
                }
                probe.unpin(probe_dir / "probe")
                probe.close()
    finally:
        for w in workers.values():
            w.close()
        for pin in pins:
            pin.unlink(missing_ok=True)
        if probe_dir.exists():
            for entry in probe_dir.iterdir():
                entry.unlink()
            probe_dir.rmdir()
    return results


def _interleave(
    exe: Path,
    shared: tuple[Map, Map, Any],
    workers: dict[str, Worker],
    reps: int,
    rounds: int,
) -> dict[str, dict[str, Any]]:
    """``reps`` repetitions of C, libbpf_py and each peer, operation by operation, on
    the ``shared`` hash, perf event array and program."""
    m, events, prog = shared
    hash_pin = BPFFS / m.name
    events_pin = BPFFS / events.name
    keys = list(range(N))
    packet = bytes(64)

    def py_lookup() -> float:
        def go() -> None:
            for k in keys:
                m[k]

        return run_ns(go, N, rounds)

    def py_update() -> float:
        def go() -> None:
            for k in keys:
                m[k] = k * 3

        return run_ns(go, N, rounds)

    def py_iterate() -> float:
        return run_ns(lambda: list(m.items()), N, rounds)

    def py_perf() -> float:
        seen = [0]

        def on_sample(cpu: int, record: Any) -> None:
            seen[0] += 1

        times = []
        for r in range(rounds + 1):
            with PerfBuffer(events, on_sample, page_count=PAGES) as pb:
                seen[0] = 0
                prog.test_run(packet, repeat=EVENTS)
                t0 = time.perf_counter_ns()
                while seen[0] < EVENTS and pb.consume() > 0:
                    pass
                if r:
                    times.append((time.perf_counter_ns() - t0) / EVENTS)
            assert seen[0] == EVENTS, f"{seen[0]} of {EVENTS} samples arrived"
        return median(times)

    c_sides = {
        "lookup": lambda: c_run(exe, "lookup", hash_pin, N, rounds),
        "update": lambda: c_run(exe, "update", hash_pin, N, rounds),
        # One batch dump of the whole map; the C program prints ms per dump.
        "iterate": lambda: c_run(exe, "dump", hash_pin, N, 256, rounds) * 1e6 / N,
        "perf": lambda: c_run(exe, "perf", events_pin, prog.id, EVENTS, rounds, PAGES),
    }
    py_sides = {"lookup": py_lookup, "update": py_update, "iterate": py_iterate, "perf": py_perf}
    runs: dict[str, dict[str, list[float]]] = {
        side: {op: [] for op in OPS} for side in ("c", "libbpf_py", *workers)
    }
    why: dict[str, dict[str, str]] = {side: {} for side in workers}
    for _ in range(reps):
        for op in OPS:
            runs["c"][op].append(c_sides[op]())
            runs["libbpf_py"][op].append(py_sides[op]())
            for peer, w in workers.items():
                if op in why[peer]:
                    continue
                answer = w.ask(
                    {"op": op, "n": N, "rounds": rounds, "events": EVENTS, "pages": PAGES}
                )
                if "ns" in answer:
                    runs[peer][op].append(answer["ns"])
                else:
                    why[peer][op] = answer.get("unsupported") or answer.get("error", "?")
    sides: dict[str, dict[str, Any]] = {}
    for side, by_op in runs.items():
        out: dict[str, Any] = {}
        for op, values in by_op.items():
            if values and op not in why.get(side, {}):
                out[f"{op}_ns"] = median(values)
            else:
                out[f"{op}_ns"] = None
                out[f"{op}_why"] = why.get(side, {}).get(op, "not measured")
        sides[side] = out
    for out in sides.values():
        for op in OPS:
            ns = out[f"{op}_ns"]
            c_ns, py_ns = sides["c"][f"{op}_ns"], sides["libbpf_py"][f"{op}_ns"]
            out[f"{op}_vs_c"] = ns / c_ns if ns and c_ns else None
            out[f"{op}_vs_libbpf_py"] = ns / py_ns if ns and py_ns else None
    return sides


def main() -> None:
    """Measure, print, write bench/results/peers.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5 repetitions of 3 rounds")
    args = parser.parse_args()
    results = measure(args.quick)
    write_results("peers", results)
    print_results({"meta": results["meta"]})
    for peer, about in results["peers"].items():
        print(f"[{peer}] {about['version']}")
        for note in about["notes"]:
            print(f"  {note}")
    print(f"[sides] ns per operation (ratio to C, ratio to libbpf_py); {N} entries")
    print(f"  {'':10}" + "".join(f"{op:>26}" for op in OPS))
    for side, out in results["sides"].items():
        cells = []
        for op in OPS:
            ns = out[f"{op}_ns"]
            if ns is None:
                cells.append(f"{'-':>26}")
            else:
                cells.append(
                    f"{ns:10.1f} ({out[f'{op}_vs_c']:4.2f}x, {out[f'{op}_vs_libbpf_py']:4.2f}x)"
                )
        print(f"  {side:10}" + "".join(cells))
        for op in OPS:
            if out.get(f"{op}_why") and side not in ("c", "libbpf_py"):
                print(f"    {op}: {out[f'{op}_why']}")


if __name__ == "__main__":
    main()
