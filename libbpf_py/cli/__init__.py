"""The ``libbpf-py`` command line: one subcommand per lifecycle phase and tool.

``libbpf-py --help`` lists them; every subcommand takes ``--explain`` (narrate each libbpf
call on stderr) and ``--debug`` (add tracebacks and libbpf's debug messages). Errors are
``libbpf-py COMMAND: message`` on stderr, or JSON on stdout under ``--json``, and the
exit status says what kind of failure it was (see :class:`~libbpf_py.cli._common.ExitCode`
and :func:`~libbpf_py.cli._common.report`). Building the parser imports nothing
compiled: ``inspect`` and ``stubs`` work without libbpf_py's compiled module. This
package is an entry point: it sits on top of the layers (docs/architecture.md), imports
from all of them and is imported by none but ``libbpf_py.__main__``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from libbpf_py.cli._common import (
    EXIT_CODES_HELP,
    compiled_module_missing,
    exit_code_for,
    report,
    wants_json,
)

__all__ = ["build_parser", "exit_code_for", "main", "version_text"]


def version_text() -> str:
    """What ``libbpf-py version`` and ``libbpf-py --version`` print."""
    import libbpf_py

    try:
        linked = f"libbpf {libbpf_py.libbpf_version()}"
    except ImportError as exc:
        if not compiled_module_missing(exc):
            raise
        linked = "libbpf unknown (the compiled module is missing: build it with './dev build')"
    return f"libbpf_py {libbpf_py.__version__}, {linked}"


def _cmd_version(args: argparse.Namespace) -> int:
    print(version_text())
    return 0


class _VersionAction(argparse.Action):
    """``--version``: print :func:`version_text` and exit, like argparse's own, but
    reading the libbpf version only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.update(nargs=0, default=argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        print(version_text())
        parser.exit()


def _cmd_stubs(args: argparse.Namespace) -> int:
    from libbpf_py.stubs import write_stub

    out = write_stub(args.object, args.output, class_name=args.class_name)
    print(out)
    return 0


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
    parser.add_argument(
        "--version",
        action=_VersionAction,
        help="print the library and libbpf versions and exit (as the version command)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    phases.add_compile(sub, common)
    phases.add_link_objects(sub, common)
    phases.add_inspect(sub, common)
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
    command = " ".join(filter(None, [args.command, getattr(args, "verb", None)]))
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except SystemExit:
        raise
    except (Exception, KeyboardInterrupt) as exc:
        return report(exc, command, as_json=wants_json(args), debug=debug)
    finally:
        previous.__exit__(None, None, None)
        logging.getLogger("libbpf_py.explain").setLevel(logging.NOTSET)
        root.removeHandler(handler)


if __name__ == "__main__":
    sys.exit(main())
