"""The ``libbpf-py`` command line: one subcommand per lifecycle phase and tool.

``libbpf-py --help`` lists them; every subcommand takes ``--explain`` (narrate each libbpf
call on stderr) and ``--debug`` (tracebacks, libbpf's debug messages). Errors are one
line on stderr, and the exit status says what kind of failure it was (see
:class:`~libbpf_py.cli._common.ExitCode`). This package is an entry point: it sits on top of
the layers (docs/architecture.md), imports from all of them and is imported by none but
``libbpf_py.__main__``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import Any

from libbpf_py.cli._common import EXIT_CODES_HELP, ExitCode

__all__ = ["exit_code_for", "main"]


def _cmd_version(args: argparse.Namespace) -> int:
    import libbpf_py

    print(f"libbpf_py {libbpf_py.__version__}, libbpf {libbpf_py.libbpf_version()}")
    return 0


def _cmd_stubs(args: argparse.Namespace) -> int:
    from libbpf_py.stubs import write_stub

    out = write_stub(args.object, args.output, class_name=args.class_name)
    print(out)
    return 0


def _inspect_with(run: Any) -> Any:
    def inspect(args: argparse.Namespace) -> int:
        from libbpf_py.object.objfile import ObjectFile

        # Reading the header first gives the shared exit codes (66 missing, 65 not an
        # object) before the inspector's own checks.
        ObjectFile(args.object)
        return int(run(args))

    return inspect


def _common() -> argparse.ArgumentParser:
    # Options every subcommand repeats, so both "libbpf-py --explain map list" and
    # "libbpf-py map list --explain" work; SUPPRESS keeps a later default from
    # overwriting an earlier flag.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--explain",
        action="store_true",
        default=argparse.SUPPRESS,
        help="narrate every libbpf call and the kernel's answer on stderr",
    )
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks and libbpf's debug messages",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``libbpf-py``."""
    from libbpf_py.cli import phases, teach, views

    common = _common()
    parser = argparse.ArgumentParser(
        prog="libbpf-py",
        parents=[common],
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Take a BPF program through its whole life: compile, inspect, open, "
        "load, attach, execute, tear down.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    phases.add_compile(sub, common)
    phases.add_link_objects(sub, common)
    inspect_cli: Any
    try:
        inspect_cli = importlib.import_module("libbpf_py.inspect.cli")
    except ImportError:
        inspect_cli = None
    if inspect_cli is not None and hasattr(inspect_cli, "add_arguments"):
        insp = sub.add_parser(
            "inspect", parents=[common], help="describe a compiled BPF object (no root needed)"
        )
        inspect_cli.add_arguments(insp)
        insp.set_defaults(func=_inspect_with(inspect_cli.run))
    phases.add_load(sub, common)
    phases.add_attach(sub, common)
    phases.add_run(sub, common)
    views.add_prog(sub, common)
    views.add_map(sub, common)
    views.add_link(sub, common)
    teach.add_trace(sub, common)
    teach.add_demo(sub, common)
    teach.add_tutorial(sub, common)
    stubs = sub.add_parser(
        "stubs",
        parents=[common],
        help="write a typed .pyi for an object",
        description="Programs, maps (key and value types) and globals "
        "from the object's BTF, as a stub mypy and editors read.",
    )
    stubs.add_argument("object", metavar="OBJ", help="a compiled BPF object")
    stubs.add_argument("-o", "--output", metavar="PYI", help="default: OBJECT_NAME.pyi here")
    stubs.add_argument("--class-name", metavar="NAME", help="the typed object class's name")
    stubs.set_defaults(func=_cmd_stubs)
    version = sub.add_parser(
        "version", parents=[common], help="print the library and libbpf versions"
    )
    version.set_defaults(func=_cmd_version)
    return parser


def exit_code_for(exc: BaseException) -> int:
    """The exit status that says what kind of failure ``exc`` is."""
    from libbpf_py import errors

    code = getattr(exc, "exit_code", None)
    if isinstance(code, int):
        return code
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


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, KeyError) and not hasattr(exc, "message") and exc.args:
        text = str(exc.args[0])
    first, *rest = text.splitlines()
    if rest:
        first += f" [{len(rest)} more lines: run with --debug]"
    return first


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    debug = getattr(args, "debug", False)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger("libbpf_py")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    from libbpf_py.explain import explain

    teaching = getattr(args, "explain", False) or getattr(args, "explain_by_default", False)
    previous = explain(teaching)
    if teaching:
        logging.getLogger("libbpf_py.explain").setLevel(logging.INFO)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("libbpf-py: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except SystemExit:
        raise
    except Exception as exc:
        from libbpf_py.errors import BpfError

        expected = isinstance(exc, BpfError | OSError | ValueError | KeyError)
        if debug or not expected:
            if not debug:
                print(
                    f"libbpf-py: internal error: {_one_line(exc)} (a bug: please report "
                    "it with the output of --debug)",
                    file=sys.stderr,
                )
                return ExitCode.KERNEL
            raise
        print(f"libbpf-py: {args.command}: {_one_line(exc)}", file=sys.stderr)
        return exit_code_for(exc)
    finally:
        previous.__exit__(None, None, None)
        logging.getLogger("libbpf_py.explain").setLevel(logging.NOTSET)
        root.removeHandler(handler)


if __name__ == "__main__":
    sys.exit(main())
