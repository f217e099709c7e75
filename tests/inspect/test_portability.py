"""The offline portability report on objects whose verdicts the kernels' history fixes."""

from __future__ import annotations

from pathlib import Path

import pytest

import libbpf_py
from libbpf_py.btf.reader import Btf, read_btf
from libbpf_py.inspect import read_object
from libbpf_py.inspect.portability import Check, Severity, portability
from libbpf_py.kernels import fetch_kernel_btf

TESTS = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def kernel_6_1() -> Btf:
    return read_btf(fetch_kernel_btf("6.1").read_bytes())


def spec_of(source: Path, tmp: Path) -> object:
    obj = libbpf_py.compile(source, tmp / (source.name.removesuffix(".c") + ".o"))
    return read_object(obj.read_bytes(), obj.name)


def test_guarded_and_unguarded_co_re(kernel_6_1: Btf, tmp_path: Path) -> None:
    spec = spec_of(TESTS / "bpf/core/edges.bpf.c", tmp_path)
    report = portability(spec, kernel_6_1, kernel="6.1")  # type: ignore[arg-type]
    assert not report.loads
    by_program: dict[str | None, set[Severity]] = {}
    for p in report.problems:
        assert p.check == Check.CORE
        by_program.setdefault(p.program, set()).add(p.severity)
    assert by_program["guarded"] == {Severity.GUARDED}
    assert by_program["unguarded"] == {Severity.FAILS}
    assert by_program["out_of_range"] == {Severity.FAILS}
    assert report.first_reason is not None and report.first_reason.program == "unguarded"
    line = report.first_reason.line("6.1")
    assert line.startswith("6.1: prog 'unguarded': fails") and "no_such_field" in line
    assert report.to_json()["loads"] is False


def test_map_types_and_kfuncs_newer_than_the_kernel(kernel_6_1: Btf, tmp_path: Path) -> None:
    special = portability(spec_of(TESTS / "bpf/corpus/maps_special.bpf.c", tmp_path), kernel_6_1)  # type: ignore[arg-type]
    assert any(p.check == Check.MAP_TYPE and p.map == "arena" for p in special.problems)
    kfuncs = portability(spec_of(TESTS / "bpf/corpus/kconfig_ksym.bpf.c", tmp_path), kernel_6_1)  # type: ignore[arg-type]
    assert any(p.check == Check.KFUNC and p.what == "bpf_task_acquire" for p in kfuncs.problems)


def test_a_plain_object_loads_everywhere(kernel_6_1: Btf, tmp_path: Path) -> None:
    spec = spec_of(TESTS / "bpf/corpus/xdp_filter.bpf.c", tmp_path)
    assert portability(spec, kernel_6_1).loads  # type: ignore[arg-type]
    assert portability(spec, "/sys/kernel/btf/vmlinux").loads  # type: ignore[arg-type]
