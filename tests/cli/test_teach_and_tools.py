"""tutorial, demo, trace, stubs, version: output and errors; --explain, --debug, no root."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from libbpf_py.cli import build_parser
from libbpf_py.pytest_plugin import capability_problem
from tests.cli.conftest import HERE, run_process

ROOT = pytest.mark.requires_root


@ROOT
def test_tutorial_yes_runs_the_whole_lifecycle() -> None:
    ran = run_process("tutorial", "--yes")
    assert ran.code == 0, ran.out[-2000:] + ran.err[-2000:]
    for phase in (
        "write the packet filter",
        "CO-RE compile",
        "inspect the compiled object",
        "open, load and attach",
        "inspect the running program",
        "watch it filter packets",
        "detach and unload",
        "confirm nothing is left",
    ):
        assert phase in ran.out
    assert ran.out.count("  > Underneath:") >= 8
    assert "press Enter" not in ran.out.lower()
    assert "packets passed, then were dropped by the filter - OK" in ran.out
    assert "[load] bpf_object__load" in ran.err  # the tutorial narrates libbpf's calls


@ROOT
def test_tutorial_pauses_and_can_be_stopped() -> None:
    ran = run_process("tutorial", stdin="\n\nq\n")
    assert ran.code == 1
    assert ran.out.count("Press Enter to go on, q to stop") == 3
    assert ran.err.strip() == (
        "libbpf-py tutorial: tutorial stopped by request; everything it made was removed"
    )


@ROOT
def test_trace_prints_bpf_printk(pinned, cli) -> None:
    ran: dict[str, object] = {}

    def trace() -> None:
        ran["result"] = run_process(
            "trace",
            "--lines",
            "1",
            "--grep",
            "lpy-cli-token",
            "--duration",
            "20",
            "--json",
            timeout=60,
        )

    reader = threading.Thread(target=trace)
    reader.start()
    # Run the program until the reader has seen a line (it may start after the first run).
    for _ in range(100):
        cli("run", pinned.pin("lpy_cli_xdp"), "--packet", "udp_packet()")
        reader.join(0.2)
        if not reader.is_alive():
            break
    reader.join()
    result = ran["result"]
    assert result.code == 0, result.err
    import json

    line = json.loads(result.out)
    assert line["message"] == "lpy-cli-token 4242"


def test_trace_usage_errors(cli) -> None:
    assert cli("trace", "--lines", "many").code == 2


def test_stubs_type_check_with_mypy(cli, cli_object: Path, tmp_path: Path) -> None:
    pytest.importorskip("mypy", reason="mypy is not installed (pip install 'libbpf_py[test]')")
    ran = cli("stubs", cli_object, "-o", tmp_path / "lpy_cli.pyi")
    assert ran.code == 0 and ran.out.strip() == str(tmp_path / "lpy_cli.pyi")
    text = (tmp_path / "lpy_cli.pyi").read_text()
    assert "class Point:" in text and "def bss(self) -> LpyCliObjectBss" in text
    (tmp_path / "use.py").write_text(
        "from typing import TYPE_CHECKING, cast\n"
        "import libbpf_py\n"
        "if TYPE_CHECKING:\n"
        "    from lpy_cli import LpyCliObject\n"
        "def use(loaded: libbpf_py.LoadedObject) -> None:\n"
        "    obj = cast('LpyCliObject', loaded)\n"
        "    reveal_type(obj.maps['lpy_cli_points'][1])\n"
        "    reveal_type(obj.maps['lpy_cli_points'][1].tag)\n"
        "    reveal_type(obj.maps['lpy_cli_hits'][0].sum())\n"
        "    reveal_type(obj.bss.runs)\n"
        "    reveal_type(obj.rodata.token)\n"
        "    obj.bss.runs = 'many'\n"
        "    obj.maps['lpy_cli_points']['one']\n"
    )
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--follow-imports=silent",
            "use.py",
            "lpy_cli.pyi",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MYPYPATH": str(repo)},
    )
    out = proc.stdout
    assert 'Revealed type is "lpy_cli.Point"' in out, out
    import re

    for line, kind in ((8, "bytes"), (9, "int"), (10, "int"), (11, "int")):
        assert re.search(rf'use.py:{line}: note: Revealed type is "(builtins\.)?{kind}"', out)
    assert "use.py:12: error: Incompatible types in assignment" in out
    assert 'use.py:13: error: Invalid index type "str"' in out
    assert out.count(": error:") == 2, out


def test_stubs_errors(cli, tmp_path: Path) -> None:
    assert cli("stubs", tmp_path / "none.o").code == 66
    ran = cli("stubs", HERE / "bpf" / "lpy_cli.bpf.c")
    assert ran.code == 65 and "not an ELF file" in ran.err


def test_version(cli) -> None:
    ran = cli("version")
    assert ran.code == 0 and "libbpf 1.7.0" in ran.out


def _subcommands() -> list[list[str]]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    out = []
    for name, p in sub.choices.items():  # type: ignore[union-attr]
        verbs = [a for a in p._actions if a.dest == "verb"]
        if verbs:
            out += [[name, verb] for verb in verbs[0].choices]
        else:
            out.append([name])
    return out


@pytest.mark.parametrize("command", _subcommands(), ids=" ".join)
def test_every_subcommand_has_explain_and_debug(command: list[str], cli) -> None:
    ran = cli(*command, "--help")
    assert ran.code == 0
    assert "--explain" in ran.out and "--debug" in ran.out


@ROOT
def test_explain_narrates_libbpf_calls(pinned, cli) -> None:
    ran = cli("map", "dump", pinned.pin("lpy_cli_points"), "--explain")
    assert "[inspect] bpf_obj_get(" in ran.err
    assert "bpf_btf_get_info_by_fd" in ran.err
    ran = cli("--explain", "run", pinned.pin("lpy_cli_xdp"), "--packet", "udp_packet()")
    assert "[execute] bpf_prog_test_run_opts" in ran.err
    quiet = cli("run", pinned.pin("lpy_cli_xdp"), "--packet", "udp_packet()")
    assert quiet.err == ""


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    ran = run_process("compile", tmp_path / "none.bpf.c")
    assert ran.code == 66 and "Traceback" not in ran.err and ran.err.count("\n") == 1
    ran = run_process("--debug", "compile", tmp_path / "none.bpf.c")
    assert ran.code == 66 and "Traceback (most recent call last)" in ran.err


NOROOT_COMMANDS = [
    ["prog", "list"],
    ["map", "list"],
    ["link", "list"],
    ["map", "dump", "id:1"],
    ["run", "id:1", "--packet", "udp_packet()"],
    ["attach", "id:1", "--xdp", "lo"],
]


@pytest.mark.parametrize("command", NOROOT_COMMANDS, ids=" ".join)
def test_without_root_says_so(command: list[str]) -> None:
    if capability_problem() is not None:
        pytest.skip("needs root to drop capabilities in a child")
    ran = run_process(*command, nocaps=True)
    assert ran.code == 77, ran.err
    assert ran.err.count("\n") == 1 and "run it as root" in ran.err


def test_load_without_root_says_so(cli_object: Path, tmp_path: Path) -> None:
    if capability_problem() is not None:
        pytest.skip("needs root to drop capabilities in a child")
    ran = run_process("load", cli_object, "--pin-dir", "/sys/fs/bpf/lpy-noroot", nocaps=True)
    assert ran.code == 77 and "run it as root" in ran.err
    assert not Path("/sys/fs/bpf/lpy-noroot").exists()
    for command in (["tutorial", "--yes"], ["demo"]):
        ran = run_process(*command, nocaps=True)
        assert ran.code == 77 and "lacks CAP_BPF" in ran.err and "run it as root" in ran.err
