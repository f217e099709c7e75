"""Map speed against C on the same vendored libbpf, in the same run, on the same maps.

Run as root: ``.venv/bin/python bench/maps/run.py [--quick]``. It builds
``bench/maps/c_baseline.c`` against vendor/build (static libbpf.a, -lelf -lz), pins each
map it creates under /sys/fs/bpf so the C program works on the very same map, and
prints per-operation times and the Python/C ratios (also written as JSON to
``bench/maps/results.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import libbpf_py  # noqa: E402
from libbpf_py._lowlevel import lib  # noqa: E402
from libbpf_py.maps import _BATCH_CHUNK, Map  # noqa: E402

MMAPABLE = 1 << 10
PIN_DIR = Path(f"/sys/fs/bpf/lpy_bench_{os.getpid()}")


def build_c(out: Path) -> Path:
    """Compile the C baseline against the vendored libbpf."""
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
    """Run the C baseline; its one output number."""
    out = subprocess.run(
        [str(exe), *map(str, args)], check=True, capture_output=True, text=True
    ).stdout
    return float(out.strip())


def best_ns(fn: Callable[[], object], ops: int, rounds: int) -> float:
    """The best time per operation over ``rounds`` runs of ``fn`` (which does ``ops``)."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        fn()
        best = min(best, (time.perf_counter_ns() - t0) / ops)
    return best


def pinned(m: Map, name: str) -> Path:
    """Pin ``m`` for the C side."""
    path = PIN_DIR / name
    m.pin(path)
    return path


def single_ops(exe: Path, rounds: int) -> dict[str, Any]:
    """m[k] and m[k] = v on a 1,000-entry hash of integer keys and values."""
    n = 1000
    with Map.create("hash", 4, 8, n, name="lpy_b_single", key_type="u32", value_type="u64") as m:
        for i in range(n):
            m[i] = i
        path = pinned(m, "single")
        keys = list(range(n))

        def lookups() -> None:
            for k in keys:
                m[k]

        def updates() -> None:
            for k in keys:
                m[k] = k * 3

        cm, fn = m._c, lib.lpy_lookup_uu

        def bare() -> None:
            for k in keys:
                fn(cm, k)

        res = {
            "c_lookup_ns": c_run(exe, "lookup", path, n, rounds),
            "py_lookup_ns": best_ns(lookups, n, rounds),
            "c_update_ns": c_run(exe, "update", path, n, rounds),
            "py_update_ns": best_ns(updates, n, rounds),
            "bare_cffi_lookup_ns": best_ns(bare, n, rounds),
        }
        m.unpin()
    res["lookup_ratio"] = res["py_lookup_ns"] / res["c_lookup_ns"]
    res["update_ratio"] = res["py_update_ns"] / res["c_update_ns"]
    return res


def mmap_ops(exe: Path, rounds: int, typed_obj: Path) -> dict[str, Any]:
    """Reads and writes through the mapping of a BPF_F_MMAPABLE array and of globals."""
    n = 1000
    with Map.create(
        "array", 4, 8, n, name="lpy_b_mmap", flags=MMAPABLE, key_type="u32", value_type="u64"
    ) as m:
        assert m.mmapped
        path = pinned(m, "mmap")
        keys = list(range(n))

        def reads() -> None:
            for k in keys:
                m[k]

        def writes() -> None:
            for k in keys:
                m[k] = k

        res = {
            "c_syscall_lookup_ns": c_run(exe, "lookup", path, n, rounds),
            "py_mmap_read_ns": best_ns(reads, n, rounds),
            "py_mmap_write_ns": best_ns(writes, n, rounds),
        }
        m.unpin()
    with libbpf_py.ObjectFile(typed_obj).open() as opened, opened.load() as loaded:
        bss = loaded.bss

        def global_reads() -> None:
            for _ in keys:
                _ = bss.bss_counter

        def global_writes() -> None:
            for k in keys:
                bss.bss_counter = k

        res["py_global_read_ns"] = best_ns(global_reads, n, rounds)
        res["py_global_write_ns"] = best_ns(global_writes, n, rounds)
    res["mmap_read_ratio"] = res["py_mmap_read_ns"] / res["c_syscall_lookup_ns"]
    res["global_read_ratio"] = res["py_global_read_ns"] / res["c_syscall_lookup_ns"]
    return res


def typed_ops(rounds: int, typed_obj: Path) -> dict[str, Any]:
    """A struct key_t -> struct val_t hash, typed from BTF, next to the same sizes raw."""
    n = 1000
    with libbpf_py.ObjectFile(typed_obj).open() as opened:
        opened.maps["flows"].max_entries = n
        loaded = opened.load()
    with loaded, Map.create("hash", 12, 48, n, name="lpy_b_raw") as raw:
        flows = loaded.maps["flows"]
        K, V = flows.key_type.python_type, flows.value_type.python_type  # type: ignore[union-attr]
        keys = [K(6, i, 80, 1, 2) for i in range(n)]
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

        return {
            "typed_lookup_ns": best_ns(typed_get, n, rounds),
            "raw_lookup_ns": best_ns(raw_get, n, rounds),
            "typed_update_ns": best_ns(typed_set, n, rounds),
            "raw_update_ns": best_ns(raw_set, n, rounds),
            "struct_decode_ns": best_ns(decode_only, n, rounds),
            "struct_encode_ns": best_ns(encode_only, n, rounds),
        }


def dump(exe: Path, entries: int, rounds: int) -> dict[str, Any]:
    """Dumping a hash of ``entries`` integer pairs: to_numpy(), items(), key by key."""
    with Map.create(
        "hash", 4, 8, entries, name="lpy_b_dump", key_type="u32", value_type="u64"
    ) as m:
        keys = np.arange(entries, dtype=np.uint32)
        m.update_batch(keys, keys.astype(np.uint64) * 7)
        path = pinned(m, "dump")
        res: dict[str, Any] = {"entries": entries, "chunk": _BATCH_CHUNK}
        res["c_batch_dump_ms"] = c_run(exe, "dump", path, entries, _BATCH_CHUNK, rounds)
        res["py_to_numpy_ms"] = best_ns(m.to_numpy, 1, rounds) / 1e6
        res["py_items_ms"] = best_ns(lambda: list(m.items()), 1, rounds) / 1e6
        t0 = time.perf_counter_ns()
        count = sum(1 for _ in m._items_by_key())
        res["py_key_by_key_ms"] = (time.perf_counter_ns() - t0) / 1e6
        assert count == entries
        arr = m.to_numpy()
        assert len(arr) == entries and int(arr["value"][arr["key"] == 5][0]) == 35
        m.unpin()
    res["to_numpy_ratio"] = res["py_to_numpy_ms"] / res["c_batch_dump_ms"]
    res["items_ratio"] = res["py_items_ms"] / res["c_batch_dump_ms"]
    res["key_by_key_ratio"] = res["py_key_by_key_ms"] / res["c_batch_dump_ms"]
    return res


def main() -> None:
    """Run every benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 entries, fewer rounds")
    args = parser.parse_args()
    rounds = 5 if args.quick else 20
    entries = 100_000 if args.quick else 1_000_000
    from libbpf_py.mounts import ensure_bpffs

    ensure_bpffs()
    PIN_DIR.mkdir()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            exe = build_c(Path(tmp))
            typed_obj = libbpf_py.compile(
                ROOT / "tests/bpf/maps/typed.bpf.c", Path(tmp) / "typed.bpf.o"
            )
            results = {
                "single": single_ops(exe, rounds),
                "mmap": mmap_ops(exe, rounds, typed_obj),
                "typed": typed_ops(rounds, typed_obj),
                "dump": dump(exe, entries, max(2, rounds // 4)),
            }
    finally:
        for entry in PIN_DIR.iterdir():
            entry.unlink()
        PIN_DIR.rmdir()
    (ROOT / "bench/maps/results.json").write_text(json.dumps(results, indent=2) + "\n")
    for group, values in results.items():
        print(f"[{group}]")
        for key, value in values.items():
            print(
                f"  {key:24} {value:12.2f}"
                if isinstance(value, float)
                else f"  {key:24} {value:>12}"
            )


if __name__ == "__main__":
    main()
