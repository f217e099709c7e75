"""CO-RE relocations resolved offline (libbpf_py.inspect.core_resolve) against libbpf.

Every corpus object with CO-RE relocations is opened by the vendored libbpf with a
target BTF (``btf_custom_path``: this machine's kernel, and Debian's 6.1) and loaded, with
libbpf's debug log captured: for each relocation libbpf writes the value it patched in,
or that it poisoned the instruction, or that it failed. The offline resolver must say
the same for every relocation libbpf reports, against the same BTF. The load itself may
fail afterwards (this host refuses fentry programs, say): relocation comes first.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py._lowlevel.printlog import update_print_level
from libbpf_py.btf.reader import Btf, read_btf
from libbpf_py.inspect.btf_ext import read_btf_ext
from libbpf_py.inspect.core_resolve import CoreOutcome, Resolution, Resolver, essential_name
from libbpf_py.inspect.elf import read_elf
from libbpf_py.inspect.objfile import read_object
from libbpf_py.kernels import KERNEL_BTF, fetch_kernel_btf
from tests.conftest import IS_ROOT
from tests.inspect.conftest import NAMES

_PATCHED = re.compile(
    r"prog '(?P<prog>[^']+)': relo #(?P<relo>\d+): patched insn #\d+ \([^)]*\) "
    r"(?:imm64|imm|off) (?P<orig>\d+) -> (?P<new>\d+)"
)
_POISONED = re.compile(
    r"prog '(?P<prog>[^']+)': relo #(?P<relo>\d+): substituting insn #\d+ w/ invalid insn"
)
_FAILED = re.compile(r"prog '(?P<prog>[^']+)': relo #(?P<relo>\d+): failed to (?:relocate|patch)")


def test_essential_names_drop_the_last_flavor() -> None:
    assert essential_name("task_struct___old") == "task_struct"
    assert essential_name("a___b___c") == "a___b"
    assert essential_name("task_struct") == "task_struct"
    assert essential_name("x____y") == "x____y"  # four underscores: no flavor
    assert essential_name("__x___y") == "__x"
    assert essential_name("___") == "___"


@contextmanager
def libbpf_debug_log() -> Iterator[list[str]]:
    """libbpf's messages, debug ones included, while the block runs."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("libbpf_py.libbpf")
    handler, level = Keep(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    update_print_level(want_debug=True)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        update_print_level()


def libbpf_outcomes(obj: Path, btf: Path) -> dict[tuple[str, int], tuple[str, int]]:
    """(program, relo #) -> ("patched", new value) | ("poisoned", 0) | ("failed", 0), from
    libbpf's own log of loading ``obj`` against ``btf``."""
    with libbpf_debug_log() as lines:
        try:
            with libbpf_py.ObjectFile(obj).open(btf_custom_path=btf) as opened:
                opened.load().close()
        except libbpf_py.BpfError:
            pass  # after relocation, the kernel may refuse the programs: not the point
    out: dict[tuple[str, int], tuple[str, int]] = {}
    for line in lines:
        for pattern, what in ((_PATCHED, "patched"), (_POISONED, "poisoned"), (_FAILED, "failed")):
            m = pattern.search(line)
            if m:
                key = (m["prog"], int(m["relo"]))
                value = int(m["new"]) if what == "patched" else 0
                out.setdefault(key, (what, value))
    return out


def offline_outcomes(obj: Path, target: Btf) -> dict[tuple[str, int], Resolution]:
    """(program, relo #) -> the resolver's answer, for every relocation of ``obj``, in
    the order libbpf resolves them (one resolver: one candidate cache, as in one load)."""
    data = obj.read_bytes()
    spec = read_object(data, obj.name)
    assert spec.btf is not None
    elf = read_elf(data)
    ext = read_btf_ext(elf.by_name[".BTF.ext"].data, spec.btf)
    programs = [*spec.programs.values(), *spec.subprograms.values()]
    resolver = Resolver(spec.btf, target)
    out: dict[tuple[str, int], Resolution] = {}
    for section, records in ext.core_relocs.items():
        for i, record in enumerate(records):
            owner = next(
                p.name
                for p in programs
                if p.section == section
                and p.offset <= record.insn_off < p.offset + 8 * p.insn_count
            )
            code = elf.by_name[section].data
            insn = code[record.insn_off : record.insn_off + 16]
            out[(owner, i)] = resolver.resolve(record, i, insn)
    return out


def _targets() -> list[tuple[str, Path]]:
    return [("running", KERNEL_BTF), ("6.1", fetch_kernel_btf("6.1"))]


EDGES = Path(__file__).resolve().parents[1] / "bpf" / "core" / "edges.bpf.c"


@pytest.fixture(scope="module")
def objects(corpus: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The corpus and tests/bpf/core/edges.bpf.c, compiled."""
    edges = libbpf_py.compile(EDGES, tmp_path_factory.mktemp("core") / "edges.bpf.o")
    return {**{name: corpus[name] for name in NAMES}, "edges": edges}


@pytest.mark.skipif(not IS_ROOT, reason="libbpf loads objects only as root")
def test_relocations_resolve_as_libbpf_resolves_them(objects: dict[str, Path]) -> None:
    compared = 0
    kinds: dict[str, int] = {}
    for label, btf_path in _targets():
        target = read_btf(btf_path.read_bytes())
        for name, obj in sorted(objects.items()):
            ours = offline_outcomes(obj, target)
            if not ours:
                continue
            theirs = libbpf_outcomes(obj, btf_path)
            for key, (what, value) in theirs.items():
                res = ours[key]
                where = f"{name} against {label}: {key[0]} relo #{key[1]} ({res.outcome.value})"
                if what == "failed":
                    assert res.outcome == CoreOutcome.REFUSED, where
                elif what == "poisoned":
                    assert res.outcome == CoreOutcome.POISONED, where
                else:
                    assert res.outcome in (CoreOutcome.RESOLVED, CoreOutcome.ABSENT), where
                    assert res.value == value, where
                compared += 1
                kinds[what] = kinds.get(what, 0) + 1
    print(f"{compared} relocations compared: {dict(sorted(kinds.items()))}")
    assert compared >= 40, f"only {compared} relocations were compared"
    assert kinds.get("poisoned", 0) >= 8, kinds
