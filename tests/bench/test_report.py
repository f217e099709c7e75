"""bench/report.py turns results files into the performance page: what it says for
missing, malformed and unknown files, and whether each target is met. It times nothing;
the inputs are written here."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.docs.test_examples import RUNNABLE, blocks

REPO = Path(__file__).resolve().parents[2]


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses looks its module up while building a class
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report() -> ModuleType:
    return _load("bench_report", REPO / "bench" / "report.py")


def _ratios(lookup: float, update: float) -> dict[str, float]:
    return {
        "c_lookup_ns": 1000.0,
        "py_lookup_ns": 1000.0 * lookup,
        "lookup_ratio": lookup,
        "c_update_ns": 1000.0,
        "py_update_ns": 1000.0 * update,
        "update_ratio": update,
    }


def _write(folder: Path, name: str, data: object) -> None:
    (folder / f"{name}.json").write_text(json.dumps(data))


def _row(page: str, target: str) -> str:
    (line,) = [ln for ln in page.splitlines() if ln.startswith(f"| {target}")]
    return line


def test_nothing_recorded_is_not_measured(report: ModuleType, tmp_path: Path) -> None:
    page = report.render(report.load_results(tmp_path), "*header*")
    assert page.startswith("# Performance\n\n*header*\n")
    for name in report.EXPECTED:
        assert f"not measured: `./dev bench` writes bench/results/{name}.json." in page
    rows = [ln for ln in page.splitlines() if ln.startswith("| ") and ("≤" in ln or "≥" in ln)]
    assert len(rows) == len(report.TARGETS)
    assert all("| not measured |" in ln for ln in rows)


def test_targets_met_and_not_met(report: ModuleType, tmp_path: Path) -> None:
    _write(
        tmp_path,
        "maps",
        {
            "meta": {"date": "D", "kernel": "K", "commit": "abc1234", "repetitions": 5},
            "object_hash": _ratios(1.10, 1.40),
            "standalone_hash": _ratios(1.05, 1.15),
            "percpu_array": _ratios(2.0, 1.0),
            "struct": {
                "typed_raw_lookup_ratio": 1.2,
                "struct_decode_ns": 700.0,
                "value": "struct flow, 24 bytes",
            },
        },
    )
    _write(
        tmp_path,
        "peers",
        {
            "sides": {
                "pylibbpf": {"lookup_ns": 1500.0, "lookup_vs_libbpf_py": 1.25},
                "bpfmaps": {
                    "lookup_ns": 900.0,
                    "lookup_vs_libbpf_py": 0.75,
                    "perf_ns": None,
                    "perf_why": "no perf | API",
                },
            },
            "peers": {"bpfmaps": {"version": "0.0.8", "notes": ["pinned at /sys/fs/bpf/<name>"]}},
        },
    )
    _write(
        tmp_path,
        "import_time",
        {
            "import_ms_median": 48.0,
            "import_ms_runs": [47.0, 48.0],
            "top": [["libbpf_py.maps", 9.5]],
        },
    )
    _write(tmp_path, "test_run", {"test_run": {"c_ns": 500.0, "repeat1_ratio": 1.2}})
    _write(tmp_path, "load", {"demo": {"open_load_ratio": 1.01}, "large": {"vs_c": 1.3}})
    page = report.render(report.load_results(tmp_path), "h")

    assert "| met |" in _row(page, "lookup on an object's")
    assert "**not met**" in _row(page, "update on an object's")
    assert "| met |" in _row(page, "update on a standalone")  # the limit itself is met
    assert "**not met**" in _row(page, "lookup on a per-CPU")
    assert "| met |" in _row(page, "lookup faster than pylibbpf")
    assert "**not met**" in _row(page, "lookup faster than bpfmaps")
    assert "| met |" in _row(page, "typed 5-field struct")
    assert "**not met**" in _row(page, "struct decode")
    assert "**not met**" in _row(page, "test_run(repeat=1)")
    assert "test_run.json: test_run.repeat1_ratio" in _row(page, "test_run(repeat=1)")
    assert "| met |" in _row(page, "import ≤ 50 ms")
    assert "| met |" in _row(page, "open + load of the demo")
    assert "**not met**" in _row(page, "open + load of a large")
    assert "not measured" in _row(page, "zero-copy batch ≥ 0.9\N{MULTIPLICATION SIGN} C, 8-byte")
    assert "Measured D on kernel K, commit abc1234, medians of 5 repetitions." in page
    # Text from results is escaped: no table is split, no HTML tag is made.
    assert "no perf \\| API" in page and "/sys/fs/bpf/\\<name\\>" in page
    assert "not measured: `./dev bench` writes bench/results/execute.json." in page


def test_unknown_and_malformed_files(report: ModuleType, tmp_path: Path) -> None:
    _write(tmp_path, "later", {"group": {"x_ns": 12.5, "label": "text"}, "total": 3})
    (tmp_path / "execute.json").write_text("{not json")
    _write(tmp_path, "odd", [1, 2])
    page = report.render(report.load_results(tmp_path), "h")
    assert "## later.json" in page and "| x_ns | 12.5 |" in page and "| total | 3 |" in page
    assert "execute.json does not parse" in page
    assert "odd.json holds a list, not an object" in page


def test_the_page_has_nothing_tests_docs_would_run(report: ModuleType, tmp_path: Path) -> None:
    _write(tmp_path, "maps", {"object_hash": _ratios(1.0, 1.0)})
    page = report.render(report.load_results(tmp_path), "h")
    assert [b for b in blocks(page) if b.lang in RUNNABLE] == []
    assert "```{bench-results}" in page  # the recorded outputs, through the docs extension


def test_main_writes_the_page(
    report: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, "maps", {"object_hash": _ratios(1.0, 1.0)})
    page = tmp_path / "performance.md"
    argv = ["report.py", "--results", str(tmp_path), "--page", str(page), "--quick"]
    monkeypatch.setattr(sys, "argv", argv)
    report.main()
    text = page.read_text()
    assert "Generated by `./dev bench`" in text and "| lookup on an object's" in text
