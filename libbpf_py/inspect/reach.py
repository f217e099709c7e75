"""Which instructions of a BPF function the verifier can reach, by constant propagation.

A CO-RE relocation that libbpf cannot resolve poisons its instruction, and the load
fails only if the verifier reaches it. Programs guard such code with
``bpf_core_field_exists()`` and friends: the relocation turns ``r1 = 1`` into ``r1 = 0``,
and ``if r1 == 0 goto skip`` then always jumps, so the verifier never walks the
poisoned path. :func:`reachable` finds the instructions that some path can reach when
the registers' known constants decide every branch they can decide.

It is a heuristic, and a safe one for reporting: the verifier tracks more than constants
(ranges, pointer types, stack slots), so it may prune a path this analysis keeps. An
instruction this analysis calls unreachable, the verifier does not reach either, as
long as every branch this analysis decides is decided by constants the verifier also
knows (registers set from immediates and computed from them, which the verifier tracks
exactly). Stack contents are not followed: a value spilled and filled is unknown.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping

__all__ = ["reachable"]

_INSN = struct.Struct("<BBhi")
_CLS_LD, _CLS_LDX, _CLS_ST, _CLS_STX, _CLS_ALU, _CLS_JMP, _CLS_JMP32, _CLS_ALU64 = range(8)
_LD_IMM64 = 0x18
_OP_CALL, _OP_EXIT, _OP_JA = 0x80, 0x90, 0x00
_MASK64 = (1 << 64) - 1

_Regs = tuple[int | None, ...]  # r0..r10, as unsigned 64-bit values


def _signed(v: int, bits: int = 64) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def _alu(op: int, a: int, b: int, bits: int) -> int | None:
    """``a op b`` as the BPF ALU computes it on ``bits`` bits, or None (unknown op)."""
    mask = (1 << bits) - 1
    a, b = a & mask, b & mask
    if op == 0x00:
        return (a + b) & mask
    if op == 0x10:
        return (a - b) & mask
    if op == 0x20:
        return (a * b) & mask
    if op == 0x30:
        return a // b if b else 0  # BPF: division by zero gives 0
    if op == 0x40:
        return a | b
    if op == 0x50:
        return a & b
    if op == 0x60:
        return (a << (b & (bits - 1))) & mask
    if op == 0x70:
        return a >> (b & (bits - 1))
    if op == 0x80:
        return (-a) & mask
    if op == 0x90:
        return a % b if b else a  # BPF: modulo by zero keeps the dividend
    if op == 0xA0:
        return a ^ b
    if op == 0xB0:
        return b
    if op == 0xC0:
        return (_signed(a, bits) >> (b & (bits - 1))) & mask
    return None


def _condition(op: int, a: int, b: int, bits: int) -> bool | None:
    """Whether a conditional jump of ``op`` is taken, or None for an unknown op."""
    mask = (1 << bits) - 1
    a, b = a & mask, b & mask
    sa, sb = _signed(a, bits), _signed(b, bits)
    table = {
        0x10: a == b,
        0x20: a > b,
        0x30: a >= b,
        0x40: bool(a & b),
        0x50: a != b,
        0x60: sa > sb,
        0x70: sa >= sb,
        0xA0: a < b,
        0xB0: a <= b,
        0xC0: sa < sb,
        0xD0: sa <= sb,
    }
    return table.get(op)


def _join(a: _Regs, b: _Regs) -> _Regs:
    return tuple(x if x == y else None for x, y in zip(a, b, strict=True))


def reachable(code: bytes, patches: Mapping[int, int] | None = None, entry: int = 0) -> set[int]:
    """The instruction indexes of ``code`` (little-endian BPF) reachable from ``entry``.

    ``patches`` gives relocated immediates by instruction index (what libbpf writes
    into ``r1 = imm`` or a 64-bit load), so the branches guarding relocations are
    decided as on the target kernel. Calls are not followed (a subprogram is analysed
    on its own); they leave r0-r5 unknown. Jumps out of ``code`` end the path.
    """
    patches = dict(patches or {})
    count = len(code) // 8
    start: _Regs = (None,) * 11
    states: dict[int, _Regs] = {}
    work = [(entry, start)]
    while work:
        pc, regs = work.pop()
        if not 0 <= pc < count:
            continue
        old = states.get(pc)
        if old is not None:
            joined = _join(old, regs)
            if joined == old:
                continue
            regs = joined
        states[pc] = regs
        work.extend(_step(code, count, pc, regs, patches))
    return set(states)


def _step(
    code: bytes, count: int, pc: int, regs: _Regs, patches: Mapping[int, int]
) -> Iterable[tuple[int, _Regs]]:
    opcode, reg_byte, off, imm = _INSN.unpack_from(code, pc * 8)
    dst, src = reg_byte & 0x0F, reg_byte >> 4
    cls, op = opcode & 0x07, opcode & 0xF0
    if pc in patches:
        imm = patches[pc]
    out = list(regs)
    if opcode == _LD_IMM64:
        if pc + 1 >= count:
            return ()
        high = _INSN.unpack_from(code, (pc + 1) * 8)[3]
        value = patches.get(pc, (imm & 0xFFFFFFFF) | (high & 0xFFFFFFFF) << 32)
        if dst < 11:
            out[dst] = (value & _MASK64) if src == 0 else None
        return [(pc + 2, tuple(out))]
    if cls in (_CLS_ALU, _CLS_ALU64):
        bits = 64 if cls == _CLS_ALU64 else 32
        if dst > 10:
            return [(pc + 1, tuple(out))]
        if op == 0xD0:  # byte swaps: the value changes in a way not followed here
            out[dst] = None
            return [(pc + 1, tuple(out))]
        b = (imm & _MASK64 if bits == 64 else imm & 0xFFFFFFFF) if not opcode & 0x08 else None
        if opcode & 0x08:
            b = regs[src] if src < 11 else None
        a = regs[dst]
        if off and op in (0xB0, 0x30, 0x90):  # movsx, sdiv, smod (cpu v4): not followed
            out[dst] = None
        elif op == 0xB0:
            out[dst] = None if b is None else b & ((1 << bits) - 1)
        elif a is None or b is None:
            out[dst] = None
        else:
            out[dst] = _alu(op, a, b, bits)
        return [(pc + 1, tuple(out))]
    if cls == _CLS_LDX:
        if dst < 11:
            out[dst] = None
        return [(pc + 1, tuple(out))]
    if cls == _CLS_STX and (opcode & 0xE0) == 0xC0:  # atomics may fetch into src or r0
        if src < 11:
            out[src] = None
        out[0] = None
        return [(pc + 1, tuple(out))]
    if cls in (_CLS_ST, _CLS_STX, _CLS_LD):
        return [(pc + 1, tuple(out))]
    if cls in (_CLS_JMP, _CLS_JMP32):
        if op == _OP_EXIT and cls == _CLS_JMP:
            return ()
        if op == _OP_CALL and cls == _CLS_JMP:
            for r in range(6):
                out[r] = None
            return [(pc + 1, tuple(out))]
        if op == _OP_JA:
            return [(pc + 1 + (imm if cls == _CLS_JMP32 else off), tuple(out))]
        bits = 64 if cls == _CLS_JMP else 32
        a = regs[dst] if dst < 11 else None
        b = (regs[src] if src < 11 else None) if opcode & 0x08 else imm & _MASK64
        taken = None if a is None or b is None else _condition(op, a, b, bits)
        target = (pc + 1 + off, tuple(out))
        fall = (pc + 1, tuple(out))
        if taken is None:
            return [target, fall]
        return [target] if taken else [fall]
    return [(pc + 1, tuple(out))]
