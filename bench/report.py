# ruff: noqa: RUF001 - the page writes the multiplication sign
"""Write docs/reference/performance.md from what the benchmarks recorded.

``./dev bench`` runs this last: ``.venv/bin/python bench/report.py``. It reads
``bench/results/*.json`` — ``maps.json`` and ``peers.json`` (bench/maps, bench/peers),
``import_time.json`` (bench/import_time.py) and every other file as a JSON object of
groups of ``{name: number}`` — and writes the page: a header saying when, on which
kernel and at which commit it was generated, the issue-16 targets met or not, and one
table per benchmark. A file that is missing shows as "not measured". The page has no
runnable code blocks (tests/docs runs those), so it builds and tests as it is.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PAGE = ROOT / "docs" / "reference" / "performance.md"
NOT_MEASURED = "not measured"
# The files this page knows how to lay out; any other JSON file gets a generic table.
KNOWN = ("maps", "peers", "import_time")
# Files other benchmarks write, listed even while missing.
EXPECTED = ("maps", "peers", "import_time", "execute", "test_run", "load")

Results = dict[str, Any]


def load_results(folder: Path) -> dict[str, Results]:
    """Every ``*.json`` of ``folder`` by file stem; a file that does not parse as a JSON
    object is kept as ``{"error": ...}`` so the page says so instead of failing."""
    found: dict[str, Results] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            data = {"error": f"{path.name} does not parse: {exc}"}
        if not isinstance(data, dict):
            data = {"error": f"{path.name} holds a {type(data).__name__}, not an object"}
        found[path.stem] = data
    return found


def number(value: Any) -> float | None:
    """``value`` as a float when it is a number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def fmt(value: Any) -> str:
    """A table cell: numbers with sensible precision, ``-`` for nothing."""
    n = number(value)
    if n is None:
        return "-" if value is None else escape(str(value))
    if isinstance(value, int) or (n == int(n) and abs(n) >= 1000):
        return f"{int(n):,}"
    if abs(n) >= 100:
        return f"{n:,.0f}"
    if abs(n) >= 10:
        return f"{n:.1f}"
    return f"{n:.2f}"


def escape(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    for ch in "\\|*<>`":
        text = text.replace(ch, "\\" + ch)
    return text.replace("\n", " ")


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table; the first column left-aligned, the others right-aligned."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# -- targets -------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One acceptance figure of issue 16: where its value comes from and its limit."""

    text: str
    op: str  # "<=" or ">="
    limit: float
    find: Callable[[dict[str, Results]], tuple[float, str] | None]
    unit: str = "×"


def at(file: str, *path: str) -> Callable[[dict[str, Results]], tuple[float, str] | None]:
    """The number at ``path`` inside results file ``file``, and where it was found."""

    def find(results: dict[str, Results]) -> tuple[float, str] | None:
        node: Any = results.get(file)
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        n = number(node)
        return None if n is None else (n, f"{file}.json: {'.'.join(path)}")

    return find


def flat(results: Results) -> Iterator[tuple[str, float]]:
    """Every ``group.name`` with a number in a groups-of-numbers results object."""
    for group, values in results.items():
        if isinstance(values, dict):
            for name, value in values.items():
                n = number(value)
                if n is not None:
                    yield f"{group}.{name}", n
        elif (n := number(values)) is not None:
            yield group, n


def matching(
    file: str, *patterns: str, scale: Callable[[str, float], float] | None = None
) -> Callable[[dict[str, Results]], tuple[float, str] | None]:
    """The first number of ``file`` whose ``group.name`` matches every regular
    expression in ``patterns`` (case-insensitive): for the files other benchmarks
    write, whose names this report does not fix."""

    def find(results: dict[str, Results]) -> tuple[float, str] | None:
        for key, n in flat(results.get(file, {})):
            if all(re.search(p, key, re.IGNORECASE) for p in patterns):
                return (scale(key, n) if scale else n), f"{file}.json: {key}"
        return None

    return find


def per_second(key: str, n: float) -> float:
    """Records per second from a rate named in records/s or in millions of them."""
    return n * 1e6 if re.search(r"(^|[._])(m|mrec|mrecords|million)", key, re.I) else n


def faster_than(
    peer: str, op: str = "lookup"
) -> Callable[[dict[str, Results]], tuple[float, str] | None]:
    """The peer's time for ``op`` over libbpf_py's, from peers.json (above 1: ahead)."""
    return at("peers", "sides", peer, f"{op}_vs_libbpf_py")


TARGETS = [
    *(
        Target(f"{op} on {label} ≤ 1.15× C", "<=", 1.15, at("maps", group, f"{op}_ratio"))
        for group, label in (
            ("object_hash", "an object's BTF-typed u32→u64 hash"),
            ("standalone_hash", "a standalone u32→u64 hash"),
            ("percpu_array", "a per-CPU u32→u64 array"),
        )
        for op in ("lookup", "update")
    ),
    Target("lookup faster than pylibbpf (its time ÷ ours)", ">=", 1.0, faster_than("pylibbpf")),
    Target("lookup faster than bpfmaps (its time ÷ ours)", ">=", 1.0, faster_than("bpfmaps")),
    # Not acceptance figures, but the title: ahead of every Python peer.
    *(
        Target(
            f"{label} faster than pylibbpf (its time ÷ ours)",
            ">=",
            1.0,
            faster_than("pylibbpf", op),
        )
        for op, label in (("update", "update"), ("iterate", "iteration"), ("perf", "perf samples"))
    ),
    Target(
        "typed 5-field struct lookup ≤ 1.3× raw bytes",
        "<=",
        1.3,
        at("maps", "struct", "typed_raw_lookup_ratio"),
    ),
    Target("struct decode ≤ 0.5 µs", "<=", 500, at("maps", "struct", "struct_decode_ns"), " ns"),
    Target(
        "zero-copy batch ≥ 0.9× C, 8-byte records",
        ">=",
        0.9,
        matching("execute", "borrow", r"(?<![0-9])8(?![0-9])", "ratio|vs_c"),
    ),
    Target(
        "zero-copy batch ≥ 0.9× C, 128-byte records",
        ">=",
        0.9,
        matching("execute", "borrow", "128", "ratio|vs_c"),
    ),
    Target(
        "typed callbacks ≥ 2 M records/s",
        ">=",
        2e6,
        matching("execute", "typed", r"per_s|_s$|rate|/s", scale=per_second),
        " records/s",
    ),
    Target(
        "test_run(repeat=1) ≤ 1.1× C",
        "<=",
        1.1,
        matching("test_run", "ratio|vs_c"),
    ),
    Target(
        "import ≤ 50 ms (median of fresh processes)",
        "<=",
        50,
        at("import_time", "import_ms_median"),
        " ms",
    ),
    Target(
        "open + load of the demo object ≤ 1.05× C",
        "<=",
        1.05,
        matching("load", "demo|filter", "ratio|vs_c"),
    ),
    Target(
        "open + load of a large object ≤ 1.05× C",
        "<=",
        1.05,
        matching("load", "large|big", "ratio|vs_c"),
    ),
]


def target_rows(results: dict[str, Results]) -> list[list[str]]:
    """One row per target: measured value, limit, met or not, and the value's source."""
    rows = []
    for t in TARGETS:
        found = t.find(results)
        limit = f"{t.op.replace('<=', '≤').replace('>=', '≥')} {fmt(t.limit)}{t.unit}"
        if found is None:
            rows.append([escape(t.text), NOT_MEASURED, limit, "-", "-"])
            continue
        value, source = found
        met = value <= t.limit if t.op == "<=" else value >= t.limit
        rows.append(
            [
                escape(t.text),
                f"{fmt(value)}{t.unit}",
                limit,
                "met" if met else "**not met**",
                escape(source),
            ]
        )
    return rows


# -- sections ------------------------------------------------------------------------


def about(results: Results) -> str:
    """The line saying when and where a results file was measured, from its meta."""
    m = results.get("meta")
    if not isinstance(m, dict):
        return ""
    reps = f", medians of {m['repetitions']} repetitions" if "repetitions" in m else ""
    quick = " (--quick)" if m.get("quick") else ""
    return (
        f"Measured {m.get('date', '?')} on kernel {m.get('kernel', '?')}, commit "
        f"{m.get('commit', '?')}{reps}{quick}.\n\n"
    )


def maps_section(r: Results) -> str:
    """Single operations against C, typed struct values, mmap, dumps."""
    out = [about(r)]
    rows = []
    for group, label in (
        ("object_hash", "object hash (BTF u32→u64)"),
        ("standalone_hash", "standalone hash (Map.create)"),
        ("percpu_array", "per-CPU array (object)"),
    ):
        g = r.get(group, {})
        rows.append(
            [
                label,
                fmt(g.get("c_lookup_ns")),
                fmt(g.get("py_lookup_ns")),
                fmt(g.get("lookup_ratio")),
                fmt(g.get("c_update_ns")),
                fmt(g.get("py_update_ns")),
                fmt(g.get("update_ratio")),
            ]
        )
    out.append(
        "`m[k]` and `m[k] = v` over 1,000 keys, ns per operation, against C's "
        "`bpf_map_lookup_elem`/`bpf_map_update_elem` on the same pinned map:\n\n"
    )
    out.append(table(["map", "C lookup", "lookup", "× C", "C update", "update", "× C"], rows))
    s = r.get("struct", {})
    out.append(
        f"\n\nA 5-field plain struct value ({escape(str(s.get('value', 'struct')))}) in a "
        "u32-keyed hash, typed from BTF, against the raw bytes of the same map "
        '(`Map.from_pin(..., key_type="bytes", value_type="bytes")`), ns:\n\n'
    )
    out.append(
        table(
            ["operation", "typed", "raw", "typed ÷ raw"],
            [
                [
                    "lookup",
                    fmt(s.get("typed_lookup_ns")),
                    fmt(s.get("raw_lookup_ns")),
                    fmt(s.get("typed_raw_lookup_ratio")),
                ],
                [
                    "update",
                    fmt(s.get("typed_update_ns")),
                    fmt(s.get("raw_update_ns")),
                    fmt(s.get("typed_raw_update_ratio")),
                ],
                ["decode alone", fmt(s.get("struct_decode_ns")), "-", "-"],
                ["encode alone", fmt(s.get("struct_encode_ns")), "-", "-"],
            ],
        )
    )
    for group, title in (
        ("mmap", "Memory-mapped arrays and globals"),
        ("typed", "A complex struct (padding, bitfields, unions)"),
        ("dump", "Whole-map dumps"),
    ):
        if isinstance(r.get(group), dict):
            out.append(f"\n\n{title} (`{group}`):\n\n")
            out.append(generic_group(r[group]))
    return "".join(out)


def peers_section(r: Results) -> str:
    """libbpf_py, C and the peers on the same maps."""
    out = [about(r)]
    sides = r.get("sides", {})
    ops = (
        ("lookup", "lookup"),
        ("update", "update"),
        ("iterate", "iterate, per entry"),
        ("perf", "perf sample"),
    )
    header = ["side"] + [f"{label} ns (× C, × libbpf_py)" for _, label in ops]
    rows = []
    for side, values in sides.items():
        row = [escape(side)]
        for op, _ in ops:
            ns = values.get(f"{op}_ns")
            if number(ns) is None:
                row.append("-")
            else:
                row.append(
                    f"{fmt(ns)} ({fmt(values.get(f'{op}_vs_c'))}×, "
                    f"{fmt(values.get(f'{op}_vs_libbpf_py'))}×)"
                )
        rows.append(row)
    out.append(
        "The same pinned u32→u64 hash of 1,000 entries and the same perf event array, "
        "measured in one run, one side after the other in every repetition. C iterates "
        "with one batch dump; perf samples are 8 bytes, sent by a program through "
        "test_run.\n\n"
    )
    out.append(table(header, rows))
    notes = []
    for peer, info in r.get("peers", {}).items():
        notes.append(f"- **{escape(peer)}** {escape(str(info.get('version', '?')))}")
        notes += [f"  - {escape(str(n))}" for n in info.get("notes", [])]
        for op, _ in ops:
            why = sides.get(peer, {}).get(f"{op}_why")
            if why:
                notes.append(f"  - {op}: {escape(str(why))}")
    if notes:
        out.append("\n\n" + "\n".join(notes))
    return "".join(out)


def import_section(r: Results) -> str:
    """Import time: the median, the runs, the costliest imports."""
    runs = ", ".join(fmt(x) for x in r.get("import_ms_runs", []))
    out = [
        about(r),
        f"`import libbpf_py` then `libbpf_py.ObjectFile`, `.Map`, `.RingBuffer` in fresh "
        f"processes: median **{fmt(r.get('import_ms_median'))} ms** (runs: {runs or '-'}).",
    ]
    top = [row for row in r.get("top", []) if isinstance(row, list | tuple) and len(row) >= 2]
    if top:
        out.append("\n\nThe costliest imports (cumulative ms):\n\n")
        out.append(table(["module", "ms"], [[escape(str(m)), fmt(ms)] for m, ms, *_ in top]))
    return "".join(out)


def generic_group(values: dict[str, Any]) -> str:
    """A ``{name: value}`` group as a two-column table."""
    rows = [[escape(str(k)), fmt(v)] for k, v in values.items() if not isinstance(v, dict | list)]
    return table(["name", "value"], rows) if rows else "(empty)"


def generic_section(r: Results) -> str:
    """Any results file: one table per group of numbers."""
    if "error" in r and len(r) == 1:
        return escape(str(r["error"]))
    out = [about(r)]
    loose = {k: v for k, v in r.items() if not isinstance(v, dict) and k != "meta"}
    for group, values in r.items():
        if group == "meta" or not isinstance(values, dict):
            continue
        out.append(f"`{escape(group)}`:\n\n{generic_group(values)}\n\n")
    if loose:
        out.append(generic_group(loose))
    return "".join(out).rstrip()


SECTIONS: dict[str, tuple[str, Callable[[Results], str]]] = {
    "maps": ("Maps against C (bench/maps)", maps_section),
    "peers": ("Python peers side by side (bench/peers)", peers_section),
    "import_time": ("Import time (bench/import_time.py)", import_section),
}
TITLES = {
    "execute": "Ring buffers, perf buffers and callbacks (bench/execute)",
    "test_run": "test_run against C (bench/test_run)",
    "load": "Open and load against C (bench/load)",
}

INTRO = """\
The benchmarks live under `bench/`. Each one measures libbpf_py against a baseline run
in the same run — usually a small C program linked against the same vendored libbpf —
and reports the ratio, so the numbers say what Python costs on top of libbpf rather than
how fast one machine is. Every figure is a median of repeated measurements, and each
repetition runs C and Python one after the other, so both see the same load. On a shared
machine wall-clock figures still move by tens of percent between runs: read the ratios
of one run, not the absolute times."""

COMPARE = """\
## Comparing two checkouts on a busy machine

Wall-clock ratios on a shared 2-core machine move by tens of percent from one run to the
next, more than most changes do. `bench/instructions.py` answers "is this change slower?"
with a figure that does not move: the user-space instructions one operation costs, counted
by valgrind's callgrind, in each checkout's own `.venv`. Each operation runs in a fresh
interpreter with a small and a large count, and the difference divided by the difference
of the counts is what one operation costs, so imports and setup cancel out. It does not
see the kernel's side of a system call, which is the same for every checkout; the ratios
against C stay with the other benchmarks.

```
.venv/bin/python bench/instructions.py /path/to/other/checkout .
```

Measured on 2026-12-03, the tree before the layered restructuring (9cf1b4b) against the
tree after it (6b83a2a), while eight other jobs shared the machine:

| operation | before | after | unit |
|---|---:|---:|---|
| lookup | 3,251 | 3,251 | `m[k]` on a u32→u64 hash |
| update | 3,728 | 3,728 | `m[k] = v` on a u32→u64 hash |
| test_run | 2,220 | 1,603 | `prog.test_run(64-byte packet)` |
| callback | 6,866 | 6,859 | a ring record to a bytes callback |
| typed | 9,694 | 9,690 | a ring record to a typed callback |
| drain | 101 | 101 | a ring record through `drain()` |
| inspect | 10,480,053 | 10,500,828 | `read_object()` of a small object |"""


def header_line() -> str:
    """Generated by whom, on which kernel, at which commit, when."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"*Generated by `./dev bench` (bench/report.py) on kernel {platform.release()}, "
        f"commit {commit}, {date}; edit bench/report.py, not this page.*"
    )


def render(results: dict[str, Results], header: str) -> str:
    """The whole page for ``results`` (by file stem), under ``header``."""
    parts = ["# Performance", header, INTRO]
    parts.append("## Targets (issue 16)")
    parts.append(
        "Each figure comes from the results file named beside it; a target whose "
        f"benchmark did not run says {NOT_MEASURED}.\n\n"
        + table(["target", "measured", "limit", "met", "from"], target_rows(results))
    )
    names = list(EXPECTED) + sorted(set(results) - set(EXPECTED))
    for name in names:
        title, section = SECTIONS.get(name, (TITLES.get(name, f"{name}.json"), generic_section))
        parts.append(f"## {title}")
        if name not in results:
            parts.append(f"{NOT_MEASURED}: `./dev bench` writes bench/results/{name}.json.")
        elif "error" in results[name] and len(results[name]) == 1:
            parts.append(escape(str(results[name]["error"])))
        else:
            parts.append(section(results[name]))
    parts.append(COMPARE)
    parts.append(
        "## Recorded outputs\n\nWhat each benchmark printed in its last run "
        "(bench/results/*.txt):\n\n```{bench-results}\n```"
    )
    return "\n\n".join(p.strip("\n") for p in parts) + "\n"


def main() -> None:
    """Read bench/results, write docs/reference/performance.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=Path, default=RESULTS, help="the results folder")
    parser.add_argument("--page", type=Path, default=PAGE, help="the page to write")
    parser.add_argument("--quick", action="store_true", help="accepted, changes nothing")
    args = parser.parse_args()
    results = load_results(args.results)
    args.page.write_text(render(results, header_line()))
    missing = [n for n in EXPECTED if n not in results]
    print(f"wrote {args.page} from {len(results)} results files")
    if missing:
        print(f"not measured: {', '.join(missing)}")
    for row in target_rows(results):
        print(f"  {row[3]:12} {row[1]:>16}  {row[2]:>10}  {row[0]}")


if __name__ == "__main__":
    main()
