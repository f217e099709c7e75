"""Reachability by constant propagation (libbpf_py.inspect.reach): hand-written code, and
the guarded and unguarded CO-RE reads of tests/bpf/core/edges.bpf.c against real BTF."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py.btf.reader import read_btf
from libbpf_py.inspect.btf_ext import read_btf_ext
from libbpf_py.inspect.core_resolve import POISON_HELPER, CoreOutcome, Resolver
from libbpf_py.inspect.elf import read_elf
from libbpf_py.inspect.objfile import read_object
from libbpf_py.inspect.reach import reachable
from libbpf_py.kernels import KERNEL_BTF, fetch_kernel_btf

EDGES = Path(__file__).resolve().parents[1] / "bpf" / "core" / "edges.bpf.c"


def insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, dst | src << 4, off, imm)


MOV64_K, JEQ_K, JNE_K, CALL, EXIT, ADD64_K, JA = 0xB7, 0x15, 0x55, 0x85, 0x95, 0x07, 0x05


def guarded(exists: int) -> bytes:
    return b"".join(
        [
            insn(MOV64_K, dst=1, imm=exists),  # 0: r1 = exists (relocated)
            insn(JEQ_K, dst=1, off=1, imm=0),  # 1: if r1 == 0 goto 3
            insn(CALL, imm=POISON_HELPER),  # 2: the poisoned read
            insn(MOV64_K, dst=0, imm=0),  # 3
            insn(EXIT),  # 4
        ]
    )


def test_a_decided_branch_leaves_its_other_side_unreached() -> None:
    assert reachable(guarded(0)) == {0, 1, 3, 4}
    assert reachable(guarded(1)) == {0, 1, 2, 3, 4}
    assert reachable(guarded(1), patches={0: 0}) == {0, 1, 3, 4}


def test_unknown_values_keep_both_sides() -> None:
    code = guarded(1)
    unknown = insn(0x79, dst=1, src=1) + code[8:]  # r1 = *(u64 *)(r1 + 0)
    assert reachable(unknown) == {0, 1, 2, 3, 4}
    after_call = insn(CALL, imm=5) + insn(JNE_K, dst=0, off=1, imm=0) + code[16:]
    assert reachable(after_call) == {0, 1, 2, 3, 4}


def test_constants_flow_through_arithmetic_and_joins() -> None:
    code = b"".join(
        [
            insn(MOV64_K, dst=2, imm=3),  # 0: r2 = 3
            insn(ADD64_K, dst=2, imm=-3),  # 1: r2 = 0
            insn(JEQ_K, dst=2, off=2, imm=0),  # 2: if r2 == 0 goto 5
            insn(CALL, imm=POISON_HELPER),  # 3
            insn(JA, off=0),  # 4
            insn(EXIT),  # 5
        ]
    )
    assert reachable(code) == {0, 1, 2, 5}


@pytest.mark.parametrize("label", ["running", "6.1"])
def test_guards_of_missing_fields_hide_their_poisoned_reads(label: str, tmp_path: Path) -> None:
    obj = libbpf_py.compile(EDGES, tmp_path / "edges.bpf.o")
    btf_path = KERNEL_BTF if label == "running" else fetch_kernel_btf(label)
    data = obj.read_bytes()
    spec = read_object(data, obj.name)
    assert spec.btf is not None
    elf = read_elf(data)
    ext = read_btf_ext(elf.by_name[".BTF.ext"].data, spec.btf)
    resolver = Resolver(spec.btf, read_btf(btf_path.read_bytes()))
    reached: dict[str, bool] = {}
    for name in ("guarded", "unguarded", "out_of_range"):
        prog = spec.programs[name]
        section = elf.by_name[prog.section].data
        code = section[prog.offset : prog.offset + 8 * prog.insn_count]
        patches: dict[int, int] = {}
        poisoned: list[int] = []
        for i, record in enumerate(ext.core_relocs[prog.section]):
            if not prog.offset <= record.insn_off < prog.offset + len(code):
                continue
            at = (record.insn_off - prog.offset) // 8
            res = resolver.resolve(record, i, code[at * 8 : at * 8 + 16])
            if res.outcome == CoreOutcome.POISONED:
                poisoned.append(at)
            else:
                patches[at] = res.value
        assert poisoned, name
        seen = reachable(code, patches)
        reached[name] = any(at in seen for at in poisoned)
    assert reached == {"guarded": False, "unguarded": True, "out_of_range": True}
