"""``libbpf-py inspect OBJ``: print what a compiled BPF object holds.

Tables of programs, maps, globals and CO-RE relocations by default; ``--btf`` adds every
BTF type (rendered as C where that helps), ``--disasm PROG`` disassembles one program
with its source lines, ``--json`` prints the whole inspection as JSON instead.
"""

from __future__ import annotations

import argparse
import enum
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from libbpf_py.btf.kinds import BtfKind
from libbpf_py.errors import ObjectFormatError

from .disasm import disassemble
from .jsonout import btf_type_json, object_json
from .objfile import read_object
from .render import render_c, type_name
from .spec import ObjectSpec

__all__ = ["add_arguments", "main", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``inspect`` subcommand's arguments to ``parser``."""
    parser.add_argument("object", metavar="OBJ", help="a compiled BPF object (.bpf.o)")
    parser.add_argument("--btf", action="store_true", help="also list every BTF type")
    parser.add_argument(
        "--disasm",
        metavar="PROG",
        action="append",
        default=[],
        help="disassemble this program or subprogram (repeatable; 'all' for every one)",
    )
    parser.add_argument(
        "--style",
        choices=("default", "llvm"),
        default="default",
        help="disassembly style: 'llvm' prints exactly what llvm-objdump -d prints",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the inspection as JSON (schema in docs/inspect.md)",
    )


def _one_line(value: object) -> str:
    # A cell keeps to one line: a multi-line type or value would break the table's rows.
    return " ".join(str(value).split())


#: the widest a type or value cell of the Globals table gets before it is cut with "..."
MAX_CELL = 60


def _short(text: str) -> str:
    text = _one_line(text)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 3] + "..."


def _value(value: object) -> str:
    if isinstance(value, enum.Enum):
        return value.name
    return _short(repr(value) if isinstance(value, str | bytes) else str(value))


def _table(out: TextIO, title: str, header: Sequence[str], rows: list[list[str]]) -> None:
    print(f"{title} ({len(rows)})", file=out)
    if not rows:
        print("  (none)\n", file=out)
        return
    cells = [list(header), *([_one_line(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        print(
            ("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))).rstrip(),
            file=out,
        )
    print(file=out)


def _label(value: Any) -> str:
    return str(value.label) if hasattr(value, "label") else str(value)


def print_tables(spec: ObjectSpec, out: TextIO) -> None:
    """The summary: a header line, then programs, subprograms, maps, globals, CO-RE."""
    kern = f"{spec.kern_version:#x}" if spec.kern_version is not None else "-"
    print(
        f"object {spec.name}: {spec.endianness}-endian, license {spec.license or '-'}, "
        f"kern_version {kern}\n",
        file=out,
    )
    if spec.has_legacy_maps:
        print(
            "note: legacy 'maps' section: libbpf 1.x refuses to open this object; "
            'declare maps in SEC(".maps") with BTF\n',
            file=out,
        )
    programs = []
    for p in spec.programs.values():
        flags = [f for f, on in (("sleepable", p.sleepable), ("noautoload", not p.autoload)) if on]
        attach = p.expected_attach_type
        programs.append(
            [
                p.name,
                p.section,
                p.type.label,
                attach.label if attach is not None else "-",
                p.attach_target or "-",
                str(p.insn_count),
                ",".join(flags) or "-",
            ]
        )
    _table(
        out,
        "Programs",
        ["NAME", "SECTION", "TYPE", "ATTACH TYPE", "TARGET", "INSNS", "FLAGS"],
        programs,
    )
    if spec.subprograms:
        _table(
            out,
            "Subprograms",
            ["NAME", "INSNS", "LINKAGE"],
            [
                [p.name, str(p.insn_count), "global" if p.is_global else "static"]
                for p in spec.subprograms.values()
            ],
        )
    maps = []
    for m in spec.maps.values():
        notes = []
        if m.internal:
            notes.append(f"data of {m.section}")
        if m.legacy:
            notes.append("legacy")
        if m.inner is not None:
            i = m.inner
            notes.append(f"inner {_label(i.type)} {i.key_size}/{i.value_size}/{i.max_entries}")
        if m.pinning.value:
            notes.append("pinned by name")
        if m.initial_slots:
            slots = ", ".join(f"{k}={v}" for k, v in sorted(m.initial_slots.items()))
            notes.append(f"slots {slots}")
        maps.append(
            [
                m.name,
                _label(m.type),
                str(m.key_size),
                str(m.value_size),
                str(m.max_entries),
                f"{m.flags:#x}",
                "; ".join(notes) or "-",
            ]
        )
    _table(out, "Maps", ["NAME", "TYPE", "KEY", "VALUE", "MAX", "FLAGS", "NOTES"], maps)
    btf = spec.btf
    _table(
        out,
        "Globals",
        ["NAME", "SECTION", "OFFSET", "SIZE", "TYPE", "VALUE"],
        [
            [
                g.name,
                g.section,
                str(g.offset),
                str(g.size),
                _short(type_name(btf, g.type.id))
                if btf is not None and g.type is not None
                else "-",
                "(from the kernel)" if g.linkage == "extern" else _value(g.value),
            ]
            for g in spec.globals.values()
        ],
    )
    _table(
        out,
        "CO-RE relocations",
        ["PROGRAM", "INSN", "KIND", "ACCESS"],
        [[c.program, str(c.index), c.kind.name.lower(), c.path] for c in spec.core_relocations],
    )


def print_btf(spec: ObjectSpec, out: TextIO) -> None:
    """Every BTF type: one line of facts, and the C rendering of named definitions."""
    btf = spec.btf
    if btf is None:
        print("BTF: (none; the object was compiled without -g)", file=out)
        return
    print(f"BTF ({len(btf.types) - 1} types)", file=out)
    shown = {
        BtfKind.STRUCT,
        BtfKind.UNION,
        BtfKind.ENUM,
        BtfKind.ENUM64,
        BtfKind.TYPEDEF,
        BtfKind.FUNC,
        BtfKind.VAR,
        BtfKind.DATASEC,
    }
    for t in btf.types[1:]:
        facts = btf_type_json(t)
        brief = ", ".join(
            f"{k}={v}"
            for k, v in facts.items()
            if k not in ("id", "kind", "name", "members", "values", "params", "vars")
        )
        print(
            f"[{t.id}] {t.kind.name} {t.name or '(anon)'}" + (f" {brief}" if brief else ""),
            file=out,
        )
        if t.kind in shown and (t.name or t.kind == BtfKind.DATASEC):
            for line in render_c(btf, t.id).splitlines():
                print(f"    {line}", file=out)
    print(file=out)


def print_disasm(spec: ObjectSpec, names: Sequence[str], style: str, out: TextIO) -> None:
    """Disassemble the named programs (``all``: every one)."""
    functions = [*spec.programs.values(), *spec.subprograms.values()]
    wanted = [f.name for f in functions] if "all" in names else list(names)
    for name in wanted:
        prog = spec.function(name)
        print(f"{prog.name} (section {prog.section}, {prog.insn_count} instructions):", file=out)
        for line in disassemble(prog, functions, style=style):
            print(f"  {line}", file=out)
        print(file=out)


def run(args: argparse.Namespace) -> int:
    """Run ``inspect`` with parsed arguments; returns the exit status."""
    out: TextIO = sys.stdout
    path = Path(args.object)
    try:
        data = path.read_bytes()
    except OSError as e:
        print(f"libbpf-py inspect: cannot read {path}: {e.strerror}", file=sys.stderr)
        return 66  # EX_NOINPUT, as in the rest of the CLI
    try:
        spec = read_object(data, path.name)
        if args.json:
            json.dump(object_json(spec), out, indent=2)
            print(file=out)
            return 0
        print_tables(spec, out)
        if args.btf:
            print_btf(spec, out)
        if args.disasm:
            print_disasm(spec, args.disasm, args.style, out)
    except ObjectFormatError as e:
        print(f"libbpf-py inspect: {path} is not a valid BPF object: {e}", file=sys.stderr)
        return 65  # EX_DATAERR
    except KeyError as e:
        print(f"libbpf-py inspect: {e.args[0]}", file=sys.stderr)
        return 66
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m libbpf_py.inspect.cli OBJ ...``."""
    parser = argparse.ArgumentParser(prog="libbpf-py inspect", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
