"""What every subcommand shares: exit codes, tables, JSON, and naming kernel objects."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

__all__ = ["ExitCode", "emit_json", "print_table", "wants_json"]


class ExitCode:
    """What the exit status of ``libbpf-py`` means (sysexits.h numbers where they fit)."""

    OK = 0
    #: the command ran, but what it checks did not hold (demo/tutorial, ``run --expect``)
    FAILED = 1
    #: the command line itself is wrong (argparse)
    USAGE = 2
    #: input that cannot be used: not a BPF object, bad key or value text, a bad packet
    DATA = 65
    #: a file, pin, id, program or map that does not exist
    NOT_FOUND = 66
    #: the kernel lacks the feature, or the hook is taken
    UNAVAILABLE = 69
    #: the kernel (or libbpf) refused: the verifier, or another kernel error
    KERNEL = 70
    #: privileges are missing: run as root
    NO_PERMISSION = 77
    #: interrupted with Ctrl-C
    INTERRUPTED = 130


EXIT_CODES_HELP = """exit status:
  0   success
  1   a check failed (demo, tutorial, run --expect)
  2   bad command line
  65  bad input: not a BPF object, bad key or value text, bad packet
  66  not found: file, pin, id, map or program
  69  not supported by this kernel, or the hook is busy
  70  the kernel or libbpf refused (e.g. the verifier)
  77  no permission: run as root
  130 interrupted
"""


def wants_json(args: argparse.Namespace) -> bool:
    """Whether the user asked for JSON output."""
    return bool(getattr(args, "json", False))


def emit_json(value: Any, out: TextIO | None = None) -> None:
    """Print ``value`` as indented JSON (bytes become hex strings)."""
    print(json.dumps(value, indent=2, default=_json_default), file=out or sys.stdout)


def _json_default(value: object) -> Any:
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    name = getattr(value, "name", None)
    if name is not None and hasattr(value, "value"):  # enum members
        return name if isinstance(name, str) else str(value)
    return str(value)


def print_table(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    out: TextIO | None = None,
    empty: str = "(none)",
) -> None:
    """Print rows as an aligned table for people."""
    stream = out or sys.stdout
    if not rows:
        print(empty, file=stream)
        return
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        line = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        print(line, file=stream)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=stream)
