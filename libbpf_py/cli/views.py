"""``prog``, ``map`` and ``link``: what the kernel holds now, by id, pin or name.

The compiled module is imported by the commands, not by this module, so that building
the parser (and ``inspect`` and ``stubs``) works without it.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from libbpf_py.cli._common import emit_json, print_table, wants_json
from libbpf_py.cli._values import decode, decode_percpu, encode, encode_percpu
from libbpf_py.errors import KeyNotFound, NotFound
from libbpf_py.explain import narrate

__all__ = ["add_link", "add_map", "add_prog"]


@contextlib.contextmanager
def _closing(fd: int) -> Iterator[int]:
    try:
        yield fd
    finally:
        os.close(fd)


def _info_dict(info: Any) -> dict[str, Any]:
    out = dataclasses.asdict(info)
    for key, value in out.items():
        if hasattr(value, "name") and hasattr(value, "value"):
            out[key] = value.name.lower()
    return out


def _list(
    args: argparse.Namespace,
    entries: Iterable[Any],
    header: list[str],
    row: Callable[[Any], list[Any]],
    empty: str,
) -> int:
    """Print what the kernel says of each entry, as a table or JSON."""
    infos = []
    for entry in list(entries):
        try:
            infos.append(entry.info())
        except NotFound:
            continue  # gone between listing and asking
    if wants_json(args):
        emit_json([_info_dict(i) for i in infos])
    else:
        print_table(header, [row(i) for i in infos], empty=empty)
    return 0


_Command = Callable[[argparse.Namespace], int]


def _add_noun(
    sub: Any,
    common: argparse.ArgumentParser,
    noun: str,
    helptext: str,
    description: str | None,
    listing: tuple[_Command, str],
    ref: tuple[str, str],
    verbs: list[tuple[str, _Command, str, tuple[tuple[str, str], ...]]],
) -> None:
    """Register ``NOUN list`` and one ``NOUN VERB REF [ARG...]`` per verb, all with --json.

    ``ref`` is the metavar and help of the object's reference; each verb names its
    function, its help and the positional arguments it takes after the reference (each a
    name and its help).
    """
    parser = sub.add_parser(noun, parents=[common], help=helptext, description=description)
    sub_verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    lst = sub_verbs.add_parser("list", parents=[common], help=listing[1])
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(func=listing[0])
    for verb, func, verb_help, extra in verbs:
        p = sub_verbs.add_parser(verb, parents=[common], help=verb_help)
        p.add_argument("ref", metavar=ref[0], help=ref[1])
        for name, arg_help in extra:
            p.add_argument(name, metavar=name.upper(), help=arg_help)
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(func=func)


# -- prog ------------------------------------------------------------------------------------


def _prog_list(args: argparse.Namespace) -> int:
    from libbpf_py import kernel

    return _list(
        args,
        kernel.programs(),
        ["id", "type", "name", "tag", "maps", "runs"],
        lambda i: [
            i.id,
            i.type.name.lower(),
            i.name,
            i.tag,
            ",".join(map(str, i.map_ids)) or "-",
            i.run_count,
        ],
        "no programs are loaded",
    )


def _prog_show(args: argparse.Namespace) -> int:
    import libbpf_py.cli._kernel as _kernel
    from libbpf_py.program._program import program_info

    with _closing(_kernel.open_ref("prog", args.ref)) as fd:
        info = program_info(fd)
    if wants_json(args):
        emit_json(_info_dict(info))
        return 0
    for key, value in _info_dict(info).items():
        print(f"{key + ':':18}{value}")
    return 0


def add_prog(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``prog list`` and ``prog show``."""
    _add_noun(
        sub,
        common,
        "prog",
        "list or show loaded programs",
        "Programs the kernel holds, from any process.",
        (_prog_list, "every loaded program"),
        ("PROG", "id:N, a bpffs pin path, or a name"),
        [("show", _prog_show, "one program in detail", ())],
    )


# -- map -------------------------------------------------------------------------------------


def _map_list(args: argparse.Namespace) -> int:
    from libbpf_py import kernel

    return _list(
        args,
        kernel.maps(),
        ["id", "type", "name", "key", "value", "max_entries"],
        lambda i: [
            i.id,
            i.type.name.lower(),
            i.name,
            f"{i.key_size}B",
            f"{i.value_size}B",
            i.max_entries,
        ],
        "no maps exist",
    )


class _TypedMap:
    def __init__(self, ref: str) -> None:
        import libbpf_py.cli._kernel as _kernel

        self.map = _kernel.open_map(ref)
        self.types, self.key_type, self.value_type = _kernel.map_btf(self.map.info)

    def close(self) -> None:
        os.close(self.map.fd)

    def key(self, text: str) -> bytes:
        return encode(text, self.types, self.key_type, self.map.key_size, "key")

    def value(self, text: str) -> bytes:
        one = encode(text, self.types, self.value_type, self.map.value_size, "value")
        return encode_percpu(one, self.map.value_size, self.map.cpus) if self.map.percpu else one

    def show_key(self, raw: bytes) -> Any:
        return decode(raw, self.types, self.key_type)

    def show_value(self, raw: bytes) -> Any:
        if self.map.percpu:
            return decode_percpu(
                raw, self.types, self.value_type, self.map.value_size, self.map.cpus
            )
        return decode(raw, self.types, self.value_type)


@contextlib.contextmanager
def _typed(ref: str) -> Iterator[_TypedMap]:
    typed = _TypedMap(ref)
    try:
        yield typed
    finally:
        typed.close()


def _print_entries(args: argparse.Namespace, m: _TypedMap, entries: list[tuple[Any, Any]]) -> None:
    if wants_json(args):
        emit_json([{"key": k, "value": v} for k, v in entries])
        return
    import json

    def text(value: Any) -> str:
        return value if isinstance(value, str) else json.dumps(value)

    print_table(
        ["key", "value"],
        [[text(k), text(v)] for k, v in entries],
        empty=f"map {m.map.name!r} is empty",
    )


def _map_dump(args: argparse.Namespace) -> int:
    with _typed(args.ref) as m:
        entries = []
        for raw in m.map.raw_keys():
            value = m.map.lookup(raw)
            if value is not None:
                entries.append((m.show_key(raw), m.show_value(value)))
        narrate(
            f"bpf_map_get_next_key/bpf_map_lookup_elem({m.map.name!r})",
            f"{len(entries)} entries",
            phase="execute",
        )
        _print_entries(args, m, entries)
    return 0


def _map_lookup(args: argparse.Namespace) -> int:
    with _typed(args.ref) as m:
        key = m.key(args.key)
        value = m.map.lookup(key)
        narrate(
            f"bpf_map_lookup_elem({m.map.name!r}, {key.hex()})",
            "found" if value is not None else "ENOENT",
            phase="execute",
        )
        if value is None:
            raise KeyNotFound(f"map {m.map.name!r} has no entry for key {args.key}")
        _print_entries(args, m, [(m.show_key(key), m.show_value(value))])
    return 0


def _map_update(args: argparse.Namespace) -> int:
    with _typed(args.ref) as m:
        key, value = m.key(args.key), m.value(args.value)
        m.map.update(key, value)
        stored = m.map.lookup(key)
        if stored is not None:
            _print_entries(args, m, [(m.show_key(key), m.show_value(stored))])
    return 0


def _map_delete(args: argparse.Namespace) -> int:
    with _typed(args.ref) as m:
        m.map.delete(m.key(args.key))
    if not wants_json(args):
        print(f"deleted key {args.key} from map {args.ref}")
    return 0


_TEXT = "42, 0x2a, 198.18.0.2, an enumerator, JSON, or hex:0a000001"
_KEY = ("key", f"the key as text: {_TEXT}")
_VALUE = ("value", f"the value as text: {_TEXT}")


def add_map(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``map list|dump|lookup|update|delete``."""
    _add_noun(
        sub,
        common,
        "map",
        "list, dump, read and change maps",
        "Maps the kernel holds, typed by their BTF. Keys and values: 42, 0x2a, "
        "198.18.0.2, an enumerator, JSON, or hex:0a000001.",
        (_map_list, "every map"),
        ("MAP", "id:N, a bpffs pin path, or a name"),
        [
            ("dump", _map_dump, "every entry, typed", ()),
            ("lookup", _map_lookup, "one entry", (_KEY,)),
            ("update", _map_update, "set one entry", (_KEY, _VALUE)),
            ("delete", _map_delete, "remove one entry", (_KEY,)),
        ],
    )


# -- link ------------------------------------------------------------------------------------


def _link_row(i: Any) -> list[Any]:
    target = i.interface or (f"ifindex {i.ifindex}" if i.ifindex else "") or i.target
    if not target and i.cgroup_id:
        target = f"cgroup {i.cgroup_id}"
    return [
        i.id,
        i.type.name.lower(),
        i.program_id,
        i.attach_type.name.lower() if i.attach_type is not None else "-",
        target or "-",
    ]


def _link_list(args: argparse.Namespace) -> int:
    from libbpf_py import kernel

    return _list(
        args,
        kernel.links(),
        ["id", "type", "prog", "attach", "target"],
        _link_row,
        "no links exist",
    )


def _link_detach(args: argparse.Namespace) -> int:
    import libbpf_py.cli._kernel as _kernel
    from libbpf_py._lowlevel import check, lib
    from libbpf_py.link._link import link_info

    with _closing(_kernel.open_ref("link", args.ref)) as fd:
        info = link_info(fd)
        check(lib.bpf_link_detach(fd), f"detaching link id {info.id}")
        narrate(f"bpf_link_detach(link id {info.id})", "detached", phase="tear down")
    if "/" in args.ref:
        os.unlink(args.ref)
    if wants_json(args):
        emit_json({"detached": info.id})
    else:
        print(
            f"link {info.id} detached (program {info.program_id} no longer runs there)"
            + (f"; pin {args.ref} removed" if "/" in args.ref else "")
        )
    return 0


def add_link(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``link list`` and ``link detach``."""
    _add_noun(
        sub,
        common,
        "link",
        "list or detach links",
        None,
        (_link_list, "every link"),
        ("LINK", "id:N or a bpffs pin path (removed too)"),
        [("detach", _link_detach, "detach one link now", ())],
    )
