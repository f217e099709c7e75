"""What every subcommand shares: exit codes, error reports, tables and JSON.

Errors: every failure goes through :func:`report`: ``libbpf-py COMMAND: message`` on
stderr (the form argparse gives usage errors of a subcommand, ``libbpf-py map lookup:
error: ...``), or under ``--json`` one JSON object on stdout, ``{"error": ..., "kind":
..., "exit": ...}``. A message is one line, except what the user needs to fix the input:
clang's diagnostics, in full, and the end of the verifier's log. ``--debug`` adds the
traceback (and the whole verifier log) without changing the exit status.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any, TextIO

from libbpf_py.errors import BpfError, CompileError, VerifierError

__all__ = [
    "VERIFIER_TAIL",
    "ExitCode",
    "compiled_module_missing",
    "emit_json",
    "exit_code_for",
    "message",
    "one_line",
    "print_table",
    "report",
    "wants_json",
]


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
    #: the kernel lacks the feature, the hook is taken, or libbpf_py's compiled module is
    #: missing (commands that need libbpf; ``inspect`` and ``stubs`` work without it)
    UNAVAILABLE = 69
    #: the kernel (or libbpf) refused: the verifier, or another kernel error
    KERNEL = 70
    #: privileges are missing: run as root
    NO_PERMISSION = 77
    #: interrupted with Ctrl-C
    INTERRUPTED = 130
    #: stdout was closed before all was written (``... | head -1``): 128 + SIGPIPE, the
    #: status a shell reports for a C tool killed by SIGPIPE; nothing is printed
    BROKEN_PIPE = 141


EXIT_CODES_HELP = """exit status:
  0   success
  1   a check failed (demo, tutorial, run --expect)
  2   bad command line
  65  bad input: not a BPF object, bad key or value text, bad packet
  66  not found: file, pin, id, map or program
  69  not supported by this kernel, the hook is busy, or the compiled module is missing
  70  the kernel or libbpf refused (e.g. the verifier), or an internal error
  77  no permission: run as root
  130 interrupted
  141 stdout closed early (e.g. piped into head); silent
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


def one_line(value: object) -> str:
    """``value`` as a table cell: its text with every run of whitespace (newlines, tabs)
    made one space, so a multi-line value cannot break the table's rows."""
    return " ".join(str(value).split())


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
    cells = [[one_line(c) for c in header]] + [[one_line(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        line = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        print(line, file=stream)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=stream)


#: how many of the verifier log's last lines an error shows (``--debug``: all of them)
VERIFIER_TAIL = 20

_COMPILED = "libbpf_py._libbpf"


def compiled_module_missing(exc: BaseException) -> bool:
    """Whether ``exc`` says that the compiled module (``libbpf_py._libbpf``) cannot be
    imported (not built, or built for another version)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ImportError) and (
            seen.name == _COMPILED or "libbpf_py's compiled module" in str(seen)
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def exit_code_for(exc: BaseException) -> int:
    """The exit status that says what kind of failure ``exc`` is."""
    from libbpf_py import errors

    code = getattr(exc, "exit_code", None)
    if isinstance(code, int):
        return code
    if isinstance(exc, BrokenPipeError):
        return ExitCode.BROKEN_PIPE
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if compiled_module_missing(exc):
        return ExitCode.UNAVAILABLE
    if isinstance(exc, errors.PermissionDenied | PermissionError):
        return ExitCode.NO_PERMISSION
    if isinstance(exc, errors.NotFound | errors.KeyNotFound | FileNotFoundError | KeyError):
        return ExitCode.NOT_FOUND
    if isinstance(
        exc,
        errors.ObjectFormatError
        | errors.LayoutError
        | errors.CompileError
        | ValueError
        | UnicodeError,
    ):
        return ExitCode.DATA
    if isinstance(exc, errors.NotSupported | errors.ResourceBusy):
        return ExitCode.UNAVAILABLE
    return ExitCode.KERNEL


def _expected(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure the library foresees (bad input, the kernel's answer),
    not a bug of libbpf_py."""
    return isinstance(
        exc, BpfError | OSError | ValueError | KeyError | KeyboardInterrupt
    ) or compiled_module_missing(exc)


def _verifier_text(exc: VerifierError, everything: bool) -> str:
    head = f"the verifier rejected program {exc.program!r}"
    if exc.errno:
        head += f" ({os.strerror(exc.errno)})"
    if not exc.log:
        return head + "; the kernel gave no log"
    shown = exc.log if everything else exc.log[-VERIFIER_TAIL:]
    if len(shown) == len(exc.log):
        head += f"; its log ({len(exc.log)} lines):"
    else:
        head += (
            f"; the last {len(shown)} lines of its {len(exc.log)}-line log "
            "(all of it: run with --debug):"
        )
    return "\n".join([head, *shown])


def message(exc: BaseException, *, debug: bool = False) -> str:
    """What went wrong, without the prefix: one line, or for a compile error clang's
    diagnostics after it, for a verifier rejection the end of its log (all with
    ``debug``)."""
    if isinstance(exc, VerifierError):
        return _verifier_text(exc, debug)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, KeyError) and not hasattr(exc, "message") and exc.args:
        text = str(exc.args[0])
    else:
        text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, CompileError):
        return text  # the message and clang's diagnostics, every line
    first, *rest = text.splitlines() or [text]
    if rest and not _expected(exc):
        return first
    # A message of the library is written to be read whole; only collapse its layout.
    return " ".join(line.strip() for line in [first, *rest] if line.strip())


def _silence_stdout() -> None:
    # The reader of stdout has gone: point fd 1 at /dev/null so that flushing at exit
    # does not fail again ("Exception ignored ... BrokenPipeError").
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (captured in a test)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def report(exc: BaseException, command: str, *, as_json: bool, debug: bool) -> int:
    """Tell the user that ``command`` failed with ``exc``; returns the exit status."""
    if isinstance(exc, BrokenPipeError):
        _silence_stdout()  # quiet, like a C tool killed by SIGPIPE
        return ExitCode.BROKEN_PIPE
    code = exit_code_for(exc) if _expected(exc) else ExitCode.KERNEL
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    text = message(exc, debug=debug)
    if not _expected(exc):
        text = (
            f"internal error: {type(exc).__name__}: {text} (a bug: please report it "
            "with the output of --debug)"
        )
    if as_json:
        emit_json({"error": text, "kind": type(exc).__name__, "exit": code})
        sys.stdout.flush()
    else:
        print(f"libbpf-py {command}: {text}", file=sys.stderr, flush=True)
    return code
