"""Fixtures of the CLI tests: the test object, compiled, and loaded through `libbpf-py load`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from libbpf_py.cli import main

HERE = Path(__file__).parent
NOCAPS = ["setpriv", "--bounding-set=-all", "--inh-caps=-all"]


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """Run `libbpf-py ARGS` in this process; returns exit code, stdout, stderr."""

    def run(*argv: str) -> Ran:
        capsys.readouterr()
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run


def run_process(
    *argv: str, nocaps: bool = False, stdin: str | None = None, timeout: float = 120
) -> Ran:
    """Run `python -m libbpf_py ARGS` as a child process (optionally without capabilities)."""
    cmd = [*(NOCAPS if nocaps else []), sys.executable, "-m", "libbpf_py", *map(str, argv)]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin if stdin is not None else "",
        env={**os.environ, "COLUMNS": "200"},
    )
    return Ran(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def cli_object(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from libbpf_py import compile

    out = tmp_path_factory.mktemp("cli") / "lpy_cli.bpf.o"
    return compile(HERE / "bpf" / "lpy_cli.bpf.c", out)


@dataclass
class Pinned:
    dir: Path
    rows: dict[str, dict[str, object]]

    def pin(self, name: str) -> str:
        return str(self.rows[name]["pin"])

    def id(self, name: str) -> str:
        return f"id:{self.rows[name]['id']}"


@pytest.fixture
def pinned(
    cli: Callable[..., Ran], cli_object: Path, request: pytest.FixtureRequest
) -> Iterator[Pinned]:
    """The test object loaded and pinned by `libbpf-py load --json`; unpinned after."""
    safe = re.sub(r"\W", "_", request.node.name)[:40]
    pin_dir = Path(f"/sys/fs/bpf/lpy-{os.getpid()}-cli-{safe}")
    ran = cli("load", cli_object, "--pin-dir", pin_dir, "--json")
    assert ran.code == 0, ran.err
    data = ran.json()
    assert isinstance(data, dict)
    try:
        yield Pinned(pin_dir, {row["name"]: row for row in data["pinned"]})
    finally:
        shutil.rmtree(pin_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def extras_object(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An object with a global of an anonymous struct and a 25,000-instruction program."""
    from libbpf_py import compile

    out = tmp_path_factory.mktemp("cli") / "lpy_cli_extras.bpf.o"
    return compile(HERE / "bpf" / "lpy_cli_extras.bpf.c", out)


@pytest.fixture(scope="session")
def rejected_object(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An object whose one program the verifier rejects after a log of hundreds of lines."""
    from libbpf_py import compile

    out = tmp_path_factory.mktemp("cli") / "lpy_cli_rejected.bpf.o"
    return compile(HERE / "bpf" / "lpy_cli_rejected.bpf.c", out)
