"""``compile``, ``link-objects``, ``inspect``, ``load``, ``attach`` and ``run``: the
lifecycle's phases by hand.

``inspect`` reads an object in pure Python: it needs no root, no kernel and no compiled
module, so no command here imports the compiled module before it runs.

A command line process ends after each command, so ``load`` pins what it loaded to bpffs
and ``attach`` pins the link it made: the pins keep them alive until removed
(``rm -r``, or ``libbpf-py link detach PIN``).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from libbpf_py.cli._common import ExitCode, emit_json, print_table, wants_json
from libbpf_py.errors import BpfError, LayoutError, NotFound, ResourceBusy, error_from_errno
from libbpf_py.explain import narrate

__all__ = [
    "PIN_ROOT",
    "add_attach",
    "add_compile",
    "add_inspect",
    "add_link_objects",
    "add_load",
    "add_run",
]

PIN_ROOT = Path("/sys/fs/bpf/libbpf_py")


# -- compile ---------------------------------------------------------------------------------


def _compile(args: argparse.Namespace) -> int:
    from libbpf_py.compiler import compile

    source = Path(args.source)
    output = args.output or source.with_name(source.name.removesuffix(".c") + ".o")
    out = compile(source, output, include_dirs=args.include, cflags=args.cflag, btf=args.btf)
    if wants_json(args):
        emit_json({"object": str(out), "size": out.stat().st_size})
    else:
        print(out)
    return 0


def add_compile(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``compile``."""
    p = sub.add_parser(
        "compile",
        parents=[common],
        help="CO-RE compile BPF C into an object",
        description="clang -g -O2 -target bpf, with vmlinux.h generated from "
        "this kernel's BTF (or --btf's). Prints the object's path.",
    )
    p.add_argument("source", metavar="SOURCE", help="a .bpf.c file")
    p.add_argument(
        "-o", "--output", help="where to write the object (default: SOURCE with .o for .c)"
    )
    p.add_argument(
        "-I",
        "--include",
        action="append",
        default=[],
        metavar="DIR",
        help="also search DIR for #include files (repeatable)",
    )
    p.add_argument(
        "--cflag",
        action="append",
        default=[],
        metavar="FLAG",
        help="pass FLAG to clang, e.g. --cflag=-DDEBUG (repeatable)",
    )
    p.add_argument(
        "--btf",
        metavar="BTF",
        help="the kernel types to compile against: a BTF or vmlinux file, "
        "'running', or a Debian kernel version such as 6.12 (default: "
        "$LIBBPF_PY_BTF, else the running kernel)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_compile)


# -- link-objects ----------------------------------------------------------------------------


def _link_objects(args: argparse.Namespace) -> int:
    from libbpf_py.linker import link_objects

    out = link_objects(args.objects, args.output)
    if wants_json(args):
        emit_json({"object": str(out), "size": out.stat().st_size, "inputs": args.objects})
    else:
        print(out)
    return 0


def add_link_objects(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``link-objects`` (``link`` names the kernel's links)."""
    p = sub.add_parser(
        "link-objects",
        parents=[common],
        help="link compiled objects into one (libbpf's static linker)",
        description="Like 'bpftool gen object': the programs, maps, globals "
        "and BTF of every OBJECT in one object, externs resolved. Prints the "
        "output's path.",
    )
    p.add_argument("objects", metavar="OBJECT", nargs="+", help="a compiled .bpf.o file")
    p.add_argument("-o", "--output", required=True, help="where to write the linked object")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_link_objects)


# -- inspect ---------------------------------------------------------------------------------


def _inspect(args: argparse.Namespace) -> int:
    from libbpf_py.inspect.cli import print_btf, print_disasm, print_tables
    from libbpf_py.inspect.jsonout import object_json
    from libbpf_py.object.objfile import ObjectFile

    # ObjectFile reads the file and checks its ELF header, with the messages and exit
    # statuses `load` gives (66 missing, 65 not a BPF object); inspecting is pure Python.
    spec = ObjectFile(args.object).inspect()
    out = sys.stdout
    if args.json:
        json.dump(object_json(spec), out, indent=2)
        print(file=out)
        return 0
    for name in args.disasm:
        if name != "all":
            spec.function(name)  # an unknown name fails before any output
    print_tables(spec, out)
    if args.btf:
        print_btf(spec, out)
    if args.disasm:
        print_disasm(spec, args.disasm, args.style, out)
    return 0


def add_inspect(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``inspect``."""
    from libbpf_py.inspect.cli import add_arguments

    p = sub.add_parser(
        "inspect",
        parents=[common],
        help="describe a compiled BPF object (no root needed)",
        description="Programs, maps, globals and CO-RE relocations of a compiled "
        "object, read in pure Python; --btf, --disasm and --json show more.",
    )
    add_arguments(p)
    p.set_defaults(func=_inspect)


# -- load ------------------------------------------------------------------------------------


def _pin(fd: int, path: Path) -> None:
    from libbpf_py._lowlevel import lib

    ret = lib.bpf_obj_pin(fd, os.fsencode(path))
    if ret < 0:
        raise error_from_errno(-ret, f"pinning at {path}")
    narrate(f"bpf_obj_pin(fd {fd}, {str(path)!r})", "pinned", phase="load")


def _pin_name(name: str) -> str:
    # bpffs refuses names with a dot, which internal maps have (".bss" -> "obj_bss").
    return name.replace(".", "_")


def _load(args: argparse.Namespace) -> int:
    import libbpf_py
    from libbpf_py.mounts import ensure_bpffs

    objfile = libbpf_py.ObjectFile(args.object)
    pin_dir = Path(args.pin_dir) if args.pin_dir else PIN_ROOT / objfile.name
    if pin_dir.exists() and any(pin_dir.iterdir()):
        raise ResourceBusy(
            f"{pin_dir} already holds pins: remove them first (rm -r {pin_dir}) or choose --pin-dir"
        )
    ensure_bpffs()
    with objfile.open() as opened:
        loaded = opened.load()
    rows: list[dict[str, Any]] = []
    with loaded:
        try:
            for sub in ("progs", "maps"):
                (pin_dir / sub).mkdir(parents=True, exist_ok=True)
            for prog in loaded.programs.values():
                if prog.loaded:
                    path = pin_dir / "progs" / _pin_name(prog.name)
                    _pin(prog.fd, path)
                    rows.append(
                        {
                            "kind": "program",
                            "name": prog.name,
                            "id": prog.id,
                            "type": prog.type.name.lower(),
                            "pin": str(path),
                        }
                    )
            for m in loaded.maps.values():
                path = pin_dir / "maps" / _pin_name(m.name)
                _pin(m.fd, path)
                rows.append(
                    {
                        "kind": "map",
                        "name": m.name,
                        "id": m.id,
                        "type": m.type.name.lower(),
                        "pin": str(path),
                    }
                )
        except BaseException:
            shutil.rmtree(pin_dir, ignore_errors=True)  # no half-pinned object
            raise
    if wants_json(args):
        emit_json({"pin_dir": str(pin_dir), "pinned": rows})
    else:
        print_table(
            ["kind", "name", "id", "type", "pin"],
            [[r["kind"], r["name"], r["id"], r["type"], r["pin"]] for r in rows],
        )
        print(
            f"\nloaded and pinned under {pin_dir}; the pins keep it loaded "
            f"(remove them with: rm -r {pin_dir})"
        )
    return 0


def add_load(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``load``."""
    p = sub.add_parser(
        "load",
        parents=[common],
        help="open and load an object, pinning it to bpffs",
        description="bpf_object__open + bpf_object__load, then "
        "every program and map is pinned under --pin-dir so it outlives "
        "this command.",
    )
    p.add_argument("object", metavar="OBJ", help="a compiled BPF object")
    p.add_argument(
        "--pin-dir", metavar="DIR", help=f"where to pin (default: {PIN_ROOT}/OBJECT_NAME)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_load)


# -- attach ----------------------------------------------------------------------------------


def _attach(args: argparse.Namespace) -> int:
    import contextlib

    import libbpf_py.cli._kernel as _kernel
    from libbpf_py._lowlevel import ffi, lib
    from libbpf_py.enums import AttachType
    from libbpf_py.link._link import link_info
    from libbpf_py.program._program import program_info
    from libbpf_py.testing.netns import entered

    kind, dev = next(
        (k, v)
        for k, v in (
            ("xdp", args.xdp),
            ("tcx_ingress", args.tcx_ingress),
            ("tcx_egress", args.tcx_egress),
        )
        if v
    )
    prog_fd = _kernel.open_ref("prog", args.prog)
    try:
        prog = program_info(prog_fd)
        pin = Path(args.pin) if args.pin else PIN_ROOT / "links" / f"{prog.name}-{kind}-{dev}"
        if pin.exists():
            raise ResourceBusy(
                f"{pin} exists already: detach that link first "
                f"(libbpf-py link detach {pin}) or choose --pin"
            )
        where = entered(args.netns) if args.netns else contextlib.nullcontext()
        with where:
            try:
                ifindex = socket_index(dev)
            except OSError:
                raise NotFound(
                    f"there is no network interface {dev!r}"
                    + (f" in namespace {args.netns}" if args.netns else "")
                ) from None
            opts = ffi.new("struct bpf_link_create_opts *")
            opts.sz = ffi.sizeof("struct bpf_link_create_opts")
            if kind == "xdp":
                opts.flags = {"auto": 0, "skb": 1 << 1, "native": 1 << 2}[args.mode]
            attach_type = {
                "xdp": AttachType.XDP,
                "tcx_ingress": AttachType.TCX_INGRESS,
                "tcx_egress": AttachType.TCX_EGRESS,
            }[kind]
            link_fd = lib.bpf_link_create(prog_fd, ifindex, attach_type, opts)
        if link_fd < 0:
            hint = ""
            if -link_fd in (errno.EBUSY, errno.EEXIST):
                hint = f"{dev} has a program attached already (libbpf-py link list)"
            elif -link_fd == errno.EINVAL:
                hint = (
                    f"is program {prog.name!r} ({prog.type.name.lower()}) of the kind {kind} needs?"
                )
            raise error_from_errno(
                -link_fd, f"attaching {prog.name!r} ({kind}) to {dev}", hint=hint
            )
        narrate(
            f"bpf_link_create({prog.name!r}, ifindex {ifindex}, {attach_type.name})",
            f"link fd {link_fd}",
            phase="attach",
        )
        try:
            pin.parent.mkdir(parents=True, exist_ok=True)
            _pin(link_fd, pin)
            info = link_info(link_fd)
        finally:
            os.close(link_fd)
    finally:
        os.close(prog_fd)
    if wants_json(args):
        emit_json(
            {
                "link_id": info.id,
                "program_id": prog.id,
                "kind": kind,
                "interface": dev,
                "pin": str(pin),
            }
        )
    else:
        print(
            f"attached program {prog.name!r} (id {prog.id}) to {dev} as {kind}: link id "
            f"{info.id}, pinned at {pin}\n(detach with: libbpf-py link detach {pin})"
        )
    return 0


def socket_index(dev: str) -> int:
    """The interface index of ``dev`` (a name or a number) in this thread's namespace."""
    import socket

    return int(dev) if dev.isdigit() else socket.if_nametoindex(dev)


def add_attach(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``attach``."""
    p = sub.add_parser(
        "attach",
        parents=[common],
        help="attach a loaded program to a network device with a pinned BPF link",
        description="bpf_link_create for XDP or tcx; the link is pinned so "
        "it stays attached after this command ends.",
    )
    p.add_argument("prog", metavar="PROG", help="id:N, a bpffs pin path, or a name")
    hook = p.add_mutually_exclusive_group(required=True)
    hook.add_argument("--xdp", metavar="DEV", help="XDP on this interface")
    hook.add_argument("--tcx-ingress", metavar="DEV", help="tcx ingress of this interface")
    hook.add_argument("--tcx-egress", metavar="DEV", help="tcx egress of this interface")
    p.add_argument(
        "--mode", choices=("auto", "skb", "native"), default="auto", help="XDP mode (default: auto)"
    )
    p.add_argument("--netns", metavar="NAME", help="the interface is in this namespace")
    p.add_argument(
        "--pin", metavar="PATH", help=f"pin the link here (default: under {PIN_ROOT}/links)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_attach)


# -- run -------------------------------------------------------------------------------------


def _packet(args: argparse.Namespace) -> bytes:
    from libbpf_py.testing.packets import build

    if args.hex is not None:
        try:
            return bytes.fromhex(args.hex.replace(":", " "))
        except ValueError:
            raise ValueError(f"--hex {args.hex!r} is not hex bytes") from None
    if args.file is not None:
        try:
            return Path(args.file).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no packet file at {args.file}") from None
    return build(args.packet)


def _test_run(fd: int, data: bytes, repeat: int) -> tuple[int, bytes, int]:
    from libbpf_py._lowlevel import ffi, lib

    opts = ffi.new("struct bpf_test_run_opts *")
    opts.sz = ffi.sizeof("struct bpf_test_run_opts")
    data_in = ffi.from_buffer(data)
    out = ffi.new("char[]", len(data) + 4096)
    opts.data_in, opts.data_size_in = data_in, len(data)
    opts.data_out, opts.data_size_out = out, len(data) + 4096
    opts.repeat = repeat
    ret = lib.bpf_prog_test_run_opts(fd, opts)
    if ret < 0:
        if -ret == errno.EINVAL and len(data) < 14:
            raise LayoutError(
                f"BPF_PROG_TEST_RUN: the packet is {len(data)} bytes; it must "
                "hold at least an Ethernet header (14 bytes)",
                errno=-ret,
            )
        raise error_from_errno(-ret, "BPF_PROG_TEST_RUN")
    narrate(
        f"bpf_prog_test_run_opts(fd {fd}, {len(data)} bytes, repeat={repeat})",
        f"retval {opts.retval}",
        phase="execute",
    )
    return int(opts.retval), bytes(ffi.buffer(out, opts.data_size_out)), int(opts.duration)


def _is_object_file(text: str) -> bool:
    path = Path(text)
    try:
        with path.open("rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:  # missing, a directory, or a bpffs pin (which cannot be read)
        return False


def _run(args: argparse.Namespace) -> int:
    import libbpf_py
    import libbpf_py.cli._kernel as _kernel
    from libbpf_py.program._program import program_info
    from libbpf_py.testing.packets import describe, verdict_name, verdict_value

    data = _packet(args)
    if _is_object_file(args.prog):
        with libbpf_py.ObjectFile(args.prog).open() as opened:
            loaded = opened.load()
        with loaded:
            names = list(loaded.programs)
            name = args.program or (names[0] if len(names) == 1 else None)
            if name is None or name not in loaded.programs:
                raise NotFound(
                    f"{args.prog} has programs {', '.join(names)}: choose one with --program"
                    if name is None
                    else f"{args.prog} has no program {name!r} (it has {', '.join(names)})"
                )
            prog = loaded.programs[name]
            retval, out, duration = _test_run(prog.fd, data, args.repeat)
            type_name, prog_name = prog.type.name, prog.name
    else:
        if args.program:
            raise ValueError(
                "--program picks a program of an object file; PROG is already a loaded program"
            )
        fd = _kernel.open_ref("prog", args.prog)
        try:
            info = program_info(fd)
            retval, out, duration = _test_run(fd, data, args.repeat)
        finally:
            os.close(fd)
        type_name, prog_name = info.type.name, info.name
    verdict = verdict_name(type_name, retval)
    expected = verdict_value(type_name, args.expect) if args.expect is not None else None
    if wants_json(args):
        emit_json(
            {
                "program": prog_name,
                "retval": retval,
                "verdict": verdict,
                "duration_ns": duration,
                "packet_in": data.hex(),
                "packet_out": out.hex(),
                "ok": expected is None or expected == retval,
            }
        )
    else:
        print(f"program:  {prog_name} ({type_name.lower()})")
        print(f"packet:   {describe(data)}")
        print(f"verdict:  {verdict} (retval {retval})")
        print(f"duration: {duration} ns per run (mean of {max(args.repeat, 1)})")
        if out != data:
            print(f"out:      {describe(out)}")
    if expected is not None and expected != retval:
        raise _CheckFailed(f"expected {verdict_name(type_name, expected)}, got {verdict}")
    return 0


class _CheckFailed(BpfError):
    exit_code = ExitCode.FAILED


def add_run(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``run``."""
    p = sub.add_parser(
        "run",
        parents=[common],
        help="run a program once on a packet (BPF_PROG_TEST_RUN)",
        description="PROG is a loaded program (id:N, pin path, name) or an "
        "object file, loaded for the run and unloaded after. Packet builders: "
        "udp_packet, tcp_packet, icmp_packet, ethernet, ipv4, ipv6, udp, tcp, "
        "icmp4, icmp6.",
    )
    p.add_argument(
        "prog",
        metavar="PROG",
        help="a loaded program (id:N, a bpffs pin path, a name) or a compiled object file",
    )
    p.add_argument("--program", metavar="NAME", help="which program of an object file")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--hex", metavar="HEX", help="the packet's bytes in hex")
    src.add_argument("--file", metavar="PATH", help="a file holding the packet's bytes")
    src.add_argument(
        "--packet",
        metavar="EXPR",
        help="a builder expression, e.g. \"udp_packet(b'hi', dport=53)\"",
    )
    p.add_argument("--repeat", type=int, default=1, help="run it N times (mean duration)")
    p.add_argument(
        "--expect",
        metavar="VERDICT",
        help="exit 1 unless the program returns this (XDP_DROP, pass, 2...)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_run)
