"""The ``libbpf-py`` command line: one subcommand per lifecycle phase and tool."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _cmd_demo(args: argparse.Namespace) -> int:
    from libbpf_py.demo.walkthrough import run_walkthrough

    return 0 if run_walkthrough().ok else 1


def _cmd_compile(args: argparse.Namespace) -> int:
    from libbpf_py.compiler import compile

    out = compile(args.source, args.output, include_dirs=args.include, cflags=args.cflag)
    print(out)
    return 0


def _cmd_version(args: argparse.Namespace) -> int:
    import libbpf_py

    print(f"libbpf_py {libbpf_py.__version__}, libbpf {libbpf_py.libbpf_version()}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="libbpf-py",
        description="Take a BPF program through its whole life: compile, inspect, open, "
                    "load, attach, execute, tear down.")
    parser.add_argument("--explain", action="store_true",
                        help="narrate every libbpf call on stderr")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks and libbpf's debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the XDP packet-filter lifecycle end to end")
    demo.set_defaults(func=_cmd_demo)

    comp = sub.add_parser("compile", help="CO-RE compile BPF C into an object file")
    comp.add_argument("source")
    comp.add_argument("-o", "--output")
    comp.add_argument("-I", "--include", action="append", default=[])
    comp.add_argument("--cflag", action="append", default=[])
    comp.set_defaults(func=_cmd_compile)

    version = sub.add_parser("version", help="print the library and libbpf versions")
    version.set_defaults(func=_cmd_version)

    import importlib

    try:
        inspect_cli = importlib.import_module("libbpf_py.inspect.cli")
    except ImportError:
        inspect_cli = None
    if inspect_cli is not None and hasattr(inspect_cli, "add_arguments"):
        insp = sub.add_parser("inspect", help="describe a compiled BPF object (no root needed)")
        inspect_cli.add_arguments(insp)
        insp.set_defaults(func=inspect_cli.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger("libbpf_py")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if args.debug else logging.WARNING)
    if args.explain or args.command == "demo":
        from libbpf_py.explain import explain

        explain()
        logging.getLogger("libbpf_py.explain").setLevel(logging.INFO)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("libbpf-py: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        from libbpf_py.errors import BpfError

        if args.debug or not isinstance(exc, BpfError | OSError | SystemExit):
            raise
        print(f"libbpf-py: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, BpfError) else 1
    finally:
        root.removeHandler(handler)


if __name__ == "__main__":
    sys.exit(main())
