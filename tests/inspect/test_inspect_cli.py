"""``libbpf-py inspect``: tables, --btf, --disasm, --json, and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from libbpf_py.inspect.cli import main


def test_tables(corpus: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(corpus["tp_execve"])]) == 0
    out = capsys.readouterr().out
    assert "object tp_execve: little-endian, license GPL" in out
    for title in ("Programs (2)", "Maps (3)", "Globals (2)", "CO-RE relocations (4)"):
        assert title in out
    assert "count_exec  tracepoint/syscalls/sys_enter_execve  tracepoint" in out
    assert "task_struct->real_parent" in out


def test_legacy_note(corpus: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(corpus["legacy_maps"])]) == 0
    assert "libbpf 1.x refuses to open this object" in capsys.readouterr().out


def test_btf_and_disasm(corpus: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(corpus["bitfields"]), "--btf", "--disasm", "read_bits"]) == 0
    out = capsys.readouterr().out
    assert "STRUCT flags size=16, vlen=6" in out
    assert "\tunsigned int mode: 3;" in out
    assert "read_bits (section tc," in out
    assert "; u8 pkt_type = BPF_CORE_READ_BITFIELD(kskb, pkt_type);" in out


def test_disasm_llvm_style(corpus: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(corpus["subprogs"]), "--disasm", "all", "--style", "llvm"]) == 0
    out = capsys.readouterr().out
    assert "square (section .text" in out and "call 0x14" in out


def test_json_schema(corpus: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(corpus["map_in_map"]), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == 2 and doc["name"] == "map_in_map"
    assert set(doc) == {
        "schema",
        "name",
        "endianness",
        "license",
        "kern_version",
        "has_legacy_maps",
        "sections",
        "programs",
        "subprograms",
        "maps",
        "globals",
        "btf",
    }
    outer = next(m for m in doc["maps"] if m["name"] == "outer_array")
    assert outer["type"] == "array_of_maps" and outer["initial_slots"] == {
        "0": "first",
        "2": "second",
    }
    assert outer["inner"]["max_entries"] == 16
    prog = doc["programs"][0]
    assert {
        "name",
        "section",
        "type",
        "instructions",
        "lines",
        "relocations",
        "core_relocations",
    } <= set(prog)
    assert prog["instructions"][0]["text"]
    assert doc["btf"][0]["id"] == 1


def test_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], corpus: dict[str, Path]
) -> None:
    assert main([str(tmp_path / "missing.o")]) == 66
    bad = tmp_path / "bad.o"
    bad.write_bytes(corpus["atomics"].read_bytes()[:300])
    assert main([str(bad)]) == 65
    assert "is not a valid BPF object" in capsys.readouterr().err
    assert main([str(corpus["atomics"]), "--disasm", "nope"]) == 66


def test_subcommand_of_libbpf_py(
    corpus: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cli = pytest.importorskip("libbpf_py.cli")
    if not hasattr(cli, "main"):
        pytest.skip("libbpf_py.cli has no main() at the moment (being reorganised)")
    assert cli.main(["inspect", str(corpus["globals_all"])]) == 0
    out = capsys.readouterr().out
    assert "'hello, bpf'" in out and ".data.foo" in out
