"""Map speed against C on the same vendored libbpf, in the same run, on the same maps.

Run as root: ``.venv/bin/python bench/maps/run.py [--quick]``. It builds
``bench/maps/c_baseline.c`` against vendor/build (static libbpf.a, -lelf -lz), compiles
``bench/maps/bench.bpf.c`` into a temporary directory, pins each map it measures under
/sys/fs/bpf so the C program works on the very same map, and prints per-operation
times and the Python/C ratios. Every figure is the median of at least 5 repetitions,
and each repetition runs C and then Python, so both sides see the same load. The
results go to ``bench/results/maps.json`` (read by bench/report.py) and
``bench/maps/results.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "maps"))

from timing import (  # noqa: E402
    build_c,
    c_run,
    interleaved,
    meta,
    print_results,
    run_ns,
    write_results,
)

import libbpf_py  # noqa: E402
from libbpf_py.maps import Map  # noqa: E402

MMAPABLE = 1 << 10
PIN_DIR = Path(f"/sys/fs/bpf/lpy_bench_{os.getpid()}")
N = 1000  # entries of every single-operation map (bench.bpf.c's ENTRIES)
BATCH_CHUNK = 8192  # entries per batch call, as libbpf_py's dump uses


def pinned(m: Map, name: str) -> Path:
    """Pin ``m`` for the C side."""
    path = PIN_DIR / name
    m.pin(path)
    return path


def single_ops(exe: Path, m: Map, name: str, reps: int, rounds: int) -> dict[str, Any]:
    """m[k] and m[k] = v over keys 0..N-1 of ``m`` (filled first), against C's
    bpf_map_lookup_elem/bpf_map_update_elem on the same pinned map."""
    keys = list(range(N))
    for k in keys:
        m[k] = k
    path = pinned(m, name)

    def lookups() -> None:
        for k in keys:
            m[k]

    def updates() -> None:
        for k in keys:
            m[k] = k * 3

    times = interleaved(
        [
            ("c_lookup_ns", lambda: c_run(exe, "lookup", path, N, rounds)),
            ("py_lookup_ns", lambda: run_ns(lookups, N, rounds)),
            ("c_update_ns", lambda: c_run(exe, "update", path, N, rounds)),
            ("py_update_ns", lambda: run_ns(updates, N, rounds)),
        ],
        reps,
    )
    m.unpin(path)
    res: dict[str, Any] = {"map": f"{m.type.name.lower()} u32->u64, {N} entries", **times}
    res["lookup_ratio"] = times["py_lookup_ns"] / times["c_lookup_ns"]
    res["update_ratio"] = times["py_update_ns"] / times["c_update_ns"]
    return res


def struct_ops(exe: Path, stats: Map, reps: int, rounds: int) -> dict[str, Any]:
    """A 5-field plain struct value, typed from BTF, against the raw bytes of the same
    map (opened from its pin with bytes keys and values); decode and encode alone."""
    keys = list(range(N))
    V = stats.value_type.python_type  # type: ignore[union-attr]
    value = V(packets=10, bytes=1500, ifindex=2, port=443, proto=6)
    for k in keys:
        stats[k] = value
    path = pinned(stats, "stats")
    codec = stats.value_codec
    with Map.from_pin(path, key_type="bytes", value_type="bytes") as raw:
        raw_keys = [k.to_bytes(4, sys.byteorder) for k in keys]
        raw_value = codec.encode(value)
        assert raw[raw_keys[7]] == raw_value and stats[7] == value

        def typed_get() -> None:
            for k in keys:
                stats[k]

        def raw_get() -> None:
            for k in raw_keys:
                raw[k]

        def typed_set() -> None:
            for k in keys:
                stats[k] = value

        def raw_set() -> None:
            for k in raw_keys:
                raw[k] = raw_value

        dec, enc = codec.decode, codec.encode

        def decode_only() -> None:
            for _ in keys:
                dec(raw_value)

        def encode_only() -> None:
            for _ in keys:
                enc(value)

        times = interleaved(
            [
                ("c_lookup_ns", lambda: c_run(exe, "lookup", path, N, rounds)),
                ("raw_lookup_ns", lambda: run_ns(raw_get, N, rounds)),
                ("typed_lookup_ns", lambda: run_ns(typed_get, N, rounds)),
                ("raw_update_ns", lambda: run_ns(raw_set, N, rounds)),
                ("typed_update_ns", lambda: run_ns(typed_set, N, rounds)),
                ("struct_decode_ns", lambda: run_ns(decode_only, N, rounds)),
                ("struct_encode_ns", lambda: run_ns(encode_only, N, rounds)),
            ],
            reps,
        )
    stats.unpin(path)
    res: dict[str, Any] = {"value": f"struct {V.__name__}, {codec.size} bytes", **times}
    res["typed_raw_lookup_ratio"] = times["typed_lookup_ns"] / times["raw_lookup_ns"]
    res["typed_raw_update_ratio"] = times["typed_update_ns"] / times["raw_update_ns"]
    res["typed_c_lookup_ratio"] = times["typed_lookup_ns"] / times["c_lookup_ns"]
    return res


def bare_cffi(m: Map, reps: int, rounds: int) -> dict[str, Any]:
    """A bare CFFI call of the C lookup helper, the floor of a CFFI binding; only where
    the library still has that helper (its C fast path may replace it)."""
    from libbpf_py._lowlevel import lib

    cm, fn = getattr(m, "_c", None), getattr(lib, "lpy_lookup_uu", None)
    if cm is None or fn is None:
        return {}
    keys = list(range(N))

    def bare() -> None:
        for k in keys:
            fn(cm, k)

    return interleaved([("bare_cffi_lookup_ns", lambda: run_ns(bare, N, rounds))], reps)


def mmap_ops(exe: Path, reps: int, rounds: int, typed_obj: Path) -> dict[str, Any]:
    """Reads and writes through the mapping of a BPF_F_MMAPABLE array and of globals."""
    with Map.create(
        "array", 4, 8, N, name="lpy_b_mmap", flags=MMAPABLE, key_type="u32", value_type="u64"
    ) as m:
        assert m.mmapped
        path = pinned(m, "mmap")
        keys = list(range(N))

        def reads() -> None:
            for k in keys:
                m[k]

        def writes() -> None:
            for k in keys:
                m[k] = k

        with libbpf_py.ObjectFile(typed_obj).open() as opened, opened.load() as loaded:
            bss = loaded.bss

            def global_reads() -> None:
                for _ in keys:
                    _ = bss.bss_counter

            def global_writes() -> None:
                for k in keys:
                    bss.bss_counter = k

            res: dict[str, Any] = interleaved(
                [
                    ("c_syscall_lookup_ns", lambda: c_run(exe, "lookup", path, N, rounds)),
                    ("py_mmap_read_ns", lambda: run_ns(reads, N, rounds)),
                    ("py_mmap_write_ns", lambda: run_ns(writes, N, rounds)),
                    ("py_global_read_ns", lambda: run_ns(global_reads, N, rounds)),
                    ("py_global_write_ns", lambda: run_ns(global_writes, N, rounds)),
                ],
                reps,
            )
        m.unpin(path)
    res["mmap_read_ratio"] = res["py_mmap_read_ns"] / res["c_syscall_lookup_ns"]
    res["global_read_ratio"] = res["py_global_read_ns"] / res["c_syscall_lookup_ns"]
    return res


def typed_ops(reps: int, rounds: int, typed_obj: Path) -> dict[str, Any]:
    """A complex struct key_t -> struct val_t hash (padding, bitfields, enums, nested
    structs and unions), typed from BTF, next to a raw map of the same sizes."""
    with libbpf_py.ObjectFile(typed_obj).open() as opened:
        opened.maps["flows"].max_entries = N
        loaded = opened.load()
    with loaded, Map.create("hash", 12, 48, N, name="lpy_b_raw") as raw:
        flows = loaded.maps["flows"]
        K, V = flows.key_type.python_type, flows.value_type.python_type  # type: ignore[union-attr]
        keys = [K(6, i, 80, 1, 2) for i in range(N)]
        value = V(
            packets=1,
            delta=-1,
            color=5,
            tag=b"x",
            arr=[1, 2, 3],
            inner={"a": 1, "b": 2},
            un={"word": 3},
            sbits=-1,
            ubits=1,
        )
        raw_keys = [flows.key_codec.encode(k) for k in keys]
        raw_value = flows.value_codec.encode(value)
        for k, rk in zip(keys, raw_keys, strict=True):
            flows[k] = value
            raw[rk] = raw_value

        def typed_get() -> None:
            for k in keys:
                flows[k]

        def typed_set() -> None:
            for k in keys:
                flows[k] = value

        def raw_get() -> None:
            for k in raw_keys:
                raw[k]

        def raw_set() -> None:
            for k in raw_keys:
                raw[k] = raw_value

        dec, enc = flows.value_codec.decode, flows.value_codec.encode

        def decode_only() -> None:
            for _ in keys:
                dec(raw_value)

        def encode_only() -> None:
            for _ in keys:
                enc(value)

        return interleaved(
            [
                ("typed_lookup_ns", lambda: run_ns(typed_get, N, rounds)),
                ("raw_lookup_ns", lambda: run_ns(raw_get, N, rounds)),
                ("typed_update_ns", lambda: run_ns(typed_set, N, rounds)),
                ("raw_update_ns", lambda: run_ns(raw_set, N, rounds)),
                ("struct_decode_ns", lambda: run_ns(decode_only, N, rounds)),
                ("struct_encode_ns", lambda: run_ns(encode_only, N, rounds)),
            ],
            reps,
        )


def dump(exe: Path, entries: int, reps: int) -> dict[str, Any]:
    """Dumping a hash of ``entries`` integer pairs: to_numpy(), items(), key by key."""
    with Map.create(
        "hash", 4, 8, entries, name="lpy_b_dump", key_type="u32", value_type="u64"
    ) as m:
        keys = np.arange(entries, dtype=np.uint32)
        m.update_batch(keys, keys.astype(np.uint64) * 7)
        path = pinned(m, "dump")
        res: dict[str, Any] = {"entries": entries, "chunk": BATCH_CHUNK}
        times = interleaved(
            [
                ("c_batch_dump_ms", lambda: c_run(exe, "dump", path, entries, BATCH_CHUNK, 1)),
                ("py_to_numpy_ms", lambda: run_ns(m.to_numpy, 1, 1) / 1e6),
                ("py_items_ms", lambda: run_ns(lambda: list(m.items()), 1, 1) / 1e6),
            ],
            reps,
        )
        res.update(times)
        # Key by key takes seconds on a large map: once is enough to show the gap.
        t0 = time.perf_counter_ns()
        count = sum(1 for _ in m._items_by_key())
        res["py_key_by_key_ms"] = (time.perf_counter_ns() - t0) / 1e6
        assert count == entries
        arr = m.to_numpy()
        assert len(arr) == entries and int(arr["value"][arr["key"] == 5][0]) == 35
        m.unpin(path)
    res["to_numpy_ratio"] = res["py_to_numpy_ms"] / res["c_batch_dump_ms"]
    res["items_ratio"] = res["py_items_ms"] / res["c_batch_dump_ms"]
    res["key_by_key_ratio"] = res["py_key_by_key_ms"] / res["c_batch_dump_ms"]
    return res


def main() -> None:
    """Run every benchmark, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5 repetitions, a 100,000-entry dump")
    args = parser.parse_args()
    reps, rounds = (5, 3) if args.quick else (11, 5)
    entries = 100_000 if args.quick else 1_000_000
    from libbpf_py.mounts import ensure_bpffs

    ensure_bpffs()
    PIN_DIR.mkdir()
    results: dict[str, Any] = {"meta": meta(reps, args.quick)}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            exe = build_c(Path(tmp))
            bench_obj = libbpf_py.compile(ROOT / "bench/maps/bench.bpf.c", Path(tmp) / "b.o")
            typed_obj = libbpf_py.compile(
                ROOT / "tests/bpf/maps/typed.bpf.c", Path(tmp) / "typed.bpf.o"
            )
            with libbpf_py.ObjectFile(bench_obj).open() as opened, opened.load() as loaded:
                maps = loaded.maps
                results["object_hash"] = single_ops(exe, maps["counts"], "counts", reps, rounds)
                with Map.create(
                    "hash", 4, 8, N, name="lpy_b_single", key_type="u32", value_type="u64"
                ) as standalone:
                    results["standalone_hash"] = single_ops(
                        exe, standalone, "standalone", reps, rounds
                    )
                    results["standalone_hash"].update(bare_cffi(standalone, reps, rounds))
                results["percpu_array"] = single_ops(exe, maps["per_cpu"], "per_cpu", reps, rounds)
                results["struct"] = struct_ops(exe, maps["stats"], reps, rounds)
            results["mmap"] = mmap_ops(exe, reps, rounds, typed_obj)
            results["typed"] = typed_ops(reps, rounds, typed_obj)
            results["dump"] = dump(exe, entries, reps)
    finally:
        for entry in PIN_DIR.iterdir():
            entry.unlink()
        PIN_DIR.rmdir()
    write_results("maps", results, ROOT / "bench/maps/results.json")
    print_results(results)


if __name__ == "__main__":
    main()
