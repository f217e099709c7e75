"""The habits of command-line tools the CLI keeps: quiet on a closed pipe, --version, JSON
errors under --json, diagnostics shown by default, one error prefix, tables of one line
per row, help on every argument, and inspect/stubs without the compiled module."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from libbpf_py.cli import build_parser
from libbpf_py.cli._common import VERIFIER_TAIL, ExitCode
from tests.cli.conftest import run_process

ROOT = pytest.mark.requires_root


def _junk(tmp_path: Path) -> Path:
    junk = tmp_path / "junk.o"
    junk.write_bytes(b"not an elf file at all" * 4)
    return junk


def _bad_source(tmp_path: Path) -> Path:
    bad = tmp_path / "bad.bpf.c"
    bad.write_text("int broken( {\n")
    return bad


def _ours(err: str) -> list[str]:
    """stderr without the lines libbpf's own messages add (logger libbpf_py.libbpf)."""
    return [line for line in err.splitlines() if not line.startswith("libbpf_py.libbpf: ")]


# -- 1. a closed pipe ------------------------------------------------------------------------


def test_a_closed_pipe_is_quiet(extras_object: Path) -> None:
    argv = [sys.executable, "-m", "libbpf_py", "inspect", str(extras_object), "--disasm", "all"]
    whole = subprocess.run(argv, capture_output=True, timeout=120, check=True)
    assert len(whole.stdout) > 4 * 65536  # far more than a pipe holds: the write must fail
    writer = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert writer.stdout is not None and writer.stderr is not None
    head = subprocess.run(
        ["head", "-1"], stdin=writer.stdout, capture_output=True, timeout=120, check=True
    )
    writer.stdout.close()  # only head holds the pipe's read end now
    err = writer.stderr.read()
    writer.stderr.close()
    assert writer.wait(timeout=120) == ExitCode.BROKEN_PIPE == 141
    assert err == b""
    assert head.stdout == whole.stdout.splitlines(keepends=True)[0]


# -- 2. --version ----------------------------------------------------------------------------


def test_version_option_prints_what_the_command_prints(cli) -> None:
    command = cli("version")
    option = cli("--version")
    assert option.code == command.code == 0
    assert option.out == command.out and "libbpf 1.7.0" in option.out
    ran = run_process("--version")
    assert ran.code == 0 and ran.out == command.out and ran.err == ""


# -- 3. JSON errors --------------------------------------------------------------------------


def test_json_errors_inspect(cli, tmp_path: Path) -> None:
    ran = cli("inspect", _junk(tmp_path), "--json")
    assert ran.code == ExitCode.DATA and ran.err == ""
    error = ran.json()
    assert isinstance(error, dict) and set(error) == {"error", "kind", "exit"}
    assert error["kind"] == "ObjectFormatError" and error["exit"] == ran.code
    assert "not an ELF file" in error["error"]
    missing = cli("inspect", tmp_path / "missing.o", "--json")
    assert missing.code == ExitCode.NOT_FOUND
    assert missing.json() == {
        "error": f"no BPF object file at {tmp_path / 'missing.o'}",
        "kind": "NotFound",
        "exit": ExitCode.NOT_FOUND,
    }


def test_json_errors_compile(cli, tmp_path: Path) -> None:
    ran = cli("compile", _bad_source(tmp_path), "--json")
    assert ran.code == ExitCode.DATA and ran.err == ""
    error = ran.json()
    assert isinstance(error, dict)
    assert error["kind"] == "CompileError" and error["exit"] == ExitCode.DATA
    assert "int broken( {" in error["error"]  # clang's diagnostics quote the line


@ROOT
def test_json_errors_load(cli, rejected_object: Path) -> None:
    ran = cli("load", rejected_object, "--pin-dir", "/sys/fs/bpf/lpy-cli-never", "--json")
    assert ran.code == ExitCode.KERNEL
    error = ran.json()
    assert isinstance(error, dict)
    assert error["kind"] == "VerifierError" and error["exit"] == ExitCode.KERNEL
    assert "invalid access to packet" in error["error"]
    assert not Path("/sys/fs/bpf/lpy-cli-never").exists()


# -- 4. diagnostics by default, --debug adds -------------------------------------------------


def test_clang_diagnostics_are_shown_in_full(cli, tmp_path: Path) -> None:
    ran = cli("compile", _bad_source(tmp_path))
    assert ran.code == ExitCode.DATA
    lines = ran.err.splitlines()
    assert lines[0].startswith("libbpf-py compile: clang failed to compile ")
    assert sum(": error: " in line for line in lines) >= 2  # every diagnostic, not the first
    assert any("int broken( {" in line for line in lines)  # with the source line quoted
    assert "run with --debug" not in ran.err and "Traceback" not in ran.err


@ROOT
def test_verifier_rejection_shows_the_log_tail(cli, rejected_object: Path) -> None:
    ran = cli("load", rejected_object, "--pin-dir", "/sys/fs/bpf/lpy-cli-never")
    assert ran.code == ExitCode.KERNEL
    head, *tail = _ours(ran.err)
    assert head.startswith("libbpf-py load: the verifier rejected program 'lpy_cli_rejected'")
    assert f"the last {VERIFIER_TAIL} lines of its " in head and "run with --debug" in head
    assert len(tail) == VERIFIER_TAIL
    assert any("invalid access to packet" in line for line in tail)
    assert tail[-1].startswith("processed ")


@ROOT
def test_debug_adds_the_traceback_and_the_whole_log(rejected_object: Path) -> None:
    quiet = run_process("load", rejected_object, "--pin-dir", "/sys/fs/bpf/lpy-cli-never")
    debug = run_process(
        "--debug", "load", rejected_object, "--pin-dir", "/sys/fs/bpf/lpy-cli-never"
    )
    assert quiet.code == debug.code == ExitCode.KERNEL
    assert "Traceback" not in quiet.err and "Traceback (most recent call last)" in debug.err
    ours = _ours(debug.err)
    head = next(i for i, line in enumerate(ours) if line.startswith("libbpf-py load: "))
    assert "its log (" in ours[head]
    count = int(ours[head].split("its log (")[1].split()[0])
    assert count > VERIFIER_TAIL and len(ours[head + 1 :]) == count


@pytest.mark.parametrize(
    "argv",
    [["compile", "BAD"], ["compile", "MISSING"], ["inspect", "JUNK"], ["stubs", "MISSING"]],
    ids=" ".join,
)
def test_debug_keeps_the_exit_code(argv: list[str], tmp_path: Path) -> None:
    paths = {"BAD": _bad_source(tmp_path), "JUNK": _junk(tmp_path), "MISSING": tmp_path / "no"}
    args = [str(paths.get(a, a)) for a in argv]
    quiet, debug = run_process(*args), run_process("--debug", *args)
    assert quiet.code == debug.code and quiet.code in (ExitCode.DATA, ExitCode.NOT_FOUND)
    assert "Traceback (most recent call last)" in debug.err and "Traceback" not in quiet.err
    # the same message ends both
    assert _ours(quiet.err)[0] in _ours(debug.err)


# -- 5. one prefix ---------------------------------------------------------------------------


def test_one_error_prefix(cli, tmp_path: Path) -> None:
    failing = {
        "inspect": ["inspect", _junk(tmp_path)],
        "inspect ": ["inspect", tmp_path / "missing.o"],
        "compile": ["compile", tmp_path / "missing.bpf.c"],
        "stubs": ["stubs", tmp_path / "missing.o"],
        "run": ["run", tmp_path / "missing.o", "--hex", "00"],
        "map lookup": ["map", "lookup", "id:x", "1"],
        "prog show": ["prog", "show", "id:x"],
        "link detach": ["link", "detach", "no-such-link"],
    }
    for command, argv in failing.items():
        ran = cli(*argv)
        assert ran.code not in (0, 2), (argv, ran)
        assert ran.err.startswith(f"libbpf-py {command.strip()}: "), (argv, ran.err)
        assert "libbpf-py: " not in ran.err and ran.err.count("\n") == 1, ran.err


# -- 6. table cells of one line --------------------------------------------------------------


def test_a_struct_global_keeps_the_globals_table_whole(cli, extras_object: Path) -> None:
    ran = cli("inspect", extras_object)
    assert ran.code == 0, ran.err
    lines = ran.out.splitlines()
    start = lines.index("Globals (1)")
    header, row, after = lines[start + 1 : start + 4]
    assert header.split() == ["NAME", "SECTION", "OFFSET", "SIZE", "TYPE", "VALUE"]
    assert after == ""  # one row for the one global: the type did not spill over lines
    assert row.split()[:4] == ["lpy_cli_anon", ".data", "0", "16"]
    assert "struct { __u32 limit; __u64 seen; }" in row
    assert row.index("struct {") == header.index("TYPE")  # columns still line up
    assert row.index("_anonymous_(") == header.index("VALUE")


# -- 7. help everywhere ----------------------------------------------------------------------


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found += _parsers(child)
    return found


def test_every_option_and_positional_has_help() -> None:
    parsers = _parsers(build_parser())
    assert len(parsers) > 20  # every subcommand and verb was walked
    missing = [
        f"{p.prog}: {'/'.join(a.option_strings) or a.dest}"
        for p in parsers
        for a in p._actions
        if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)
        and (a.help is None or not a.help.strip() or a.help == argparse.SUPPRESS)
    ]
    assert missing == []


# -- 8. inspect and stubs without the compiled module ----------------------------------------

WITHOUT_COMPILED = """
import sys

class NoCompiledModule:
    # as if libbpf_py/_libbpf*.so had never been built
    def find_spec(self, name, path=None, target=None):
        if name == "libbpf_py._libbpf":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoCompiledModule())
from libbpf_py.cli import main
code = main(sys.argv[1:])
assert "libbpf_py._libbpf" not in sys.modules
sys.exit(code)
"""


def _without_compiled(*argv: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_COMPILED, *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_inspect_and_stubs_work_without_the_compiled_module(
    cli, cli_object: Path, tmp_path: Path
) -> None:
    ran = _without_compiled("inspect", cli_object)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == cli("inspect", cli_object).out and ran.stderr == ""
    ran = _without_compiled("inspect", cli_object, "--json", "--disasm", "all")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["programs"]
    stub = tmp_path / "lpy_cli.pyi"
    ran = _without_compiled("stubs", cli_object, "-o", stub)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == str(stub) and "lpy_cli_points" in stub.read_text()
    ran = _without_compiled("--help")
    assert ran.returncode == 0 and "inspect" in ran.stdout


def test_commands_that_need_it_say_it_is_missing(cli_object: Path) -> None:
    ran = _without_compiled("load", cli_object, "--pin-dir", "/sys/fs/bpf/lpy-cli-never")
    assert ran.returncode == ExitCode.UNAVAILABLE
    assert ran.stderr.count("\n") == 1 and ran.stderr.startswith("libbpf-py load: ")
    assert "compiled module is missing" in ran.stderr and "./dev build" in ran.stderr
    ran = _without_compiled("map", "list", "--json")
    assert ran.returncode == ExitCode.UNAVAILABLE and ran.stderr == ""
    assert json.loads(ran.stdout)["kind"] == "ImportError"
    ran = _without_compiled("version")
    assert ran.returncode == 0 and "compiled module is missing" in ran.stdout
