"""Turn instructions into text.

Two styles:

- ``"llvm"``: exactly what ``llvm-objdump-19 -d`` prints after the bytes, including its
  ``<unknown>`` for encodings it does not decode without ``--mattr``.
- ``"default"``: the same syntax, but with what the object knows and llvm-objdump does
  not: helper names, the map, global, extern or function a relocation names, CO-RE
  relocations, and the source lines from ``.BTF.ext`` interleaved.
"""

from __future__ import annotations

from collections.abc import Callable

from .helpers import helper_name
from .insn import ALU, ALU64, JMP, JMP32, LD, LDX, ST, Instruction
from .spec import ProgramSpec, Relocation, RelocationKind

__all__ = ["disassemble", "instruction_text"]

_ALU_OPS = {
    0x00: "+=",
    0x10: "-=",
    0x20: "*=",
    0x30: "/=",
    0x40: "|=",
    0x50: "&=",
    0x60: "<<=",
    0x70: ">>=",
    0x90: "%=",
    0xA0: "^=",
    0xC0: "s>>=",
}
_JMP_OPS = {
    0x10: "==",
    0x20: ">",
    0x30: ">=",
    0x40: "&",
    0x50: "!=",
    0x60: "s>",
    0x70: "s>=",
    0xA0: "<",
    0xB0: "<=",
    0xC0: "s<",
    0xD0: "s<=",
}
_SIZES = {0x00: "u32", 0x08: "u16", 0x10: "u8", 0x18: "u64"}
_SIGNED_SIZES = {0x00: "s32", 0x08: "s16", 0x10: "s8"}
_ATOMIC_LOCK = {0x0: "+=", 0x4: "|=", 0x5: "&=", 0xA: "^="}
_ATOMIC_FETCH = {0x0: "add", 0x4: "or", 0x5: "and", 0xA: "xor"}
UNKNOWN = "<unknown>"
# llvm knows r0-r11 (r11 is its internal auxiliary register); r12-r15 do not decode.
_MAX_REG = 11

Label = Callable[[int], str]


def _hex(value: int) -> str:
    return f"-{-value:#x}" if value < 0 else f"{value:#x}"


def _signed_hex(value: int) -> str:
    return f"- {-value:#x}" if value < 0 else f"+ {value:#x}"


def _jump(value: int) -> str:
    return f"-{-value:#x}" if value < 0 else f"+{value:#x}"


def _ok(*regs: int) -> bool:
    return all(r <= _MAX_REG for r in regs)


def _alu(insn: Instruction) -> str:
    # llvm decodes by opcode (plus the few fields that select a variant) and ignores
    # the rest, so unused fields are not checked here either.
    code, dst, src, off, imm = insn.code, insn.dst, insn.src, insn.off, insn.imm
    wide = insn.cls == ALU64
    r = "r" if wide else "w"
    op = code & 0xF0
    use_reg = bool(code & 0x08)
    if not _ok(dst):
        return UNKNOWN
    if op == 0xD0:  # END
        if imm not in (16, 32, 64) or (wide and use_reg):
            return UNKNOWN
        if not wide:
            return f"r{dst} = {'be' if use_reg else 'le'}{imm} r{dst}"
        return f"r{dst} = bswap{imm} r{dst}"
    if op == 0x80:  # NEG
        return f"{r}{dst} = -{r}{dst}" if not use_reg else UNKNOWN
    if op == 0xB0:  # MOV, MOVSX, addr_space_cast
        if not use_reg:
            return f"{r}{dst} = {_hex(imm)}" if off == 0 else UNKNOWN
        if not _ok(src):
            return UNKNOWN
        if off == 0:
            return f"{r}{dst} = {r}{src}"
        if off in (8, 16) or (off == 32 and wide):
            return f"{r}{dst} = (s{off}){r}{src}"
        if off == 1 and wide:
            return f"r{dst} = addr_space_cast(r{src}, {(imm >> 16) & 0xFFFF:#x}, {imm & 0xFFFF:#x})"
        return UNKNOWN
    sym = _ALU_OPS.get(op)
    if sym is None:
        return UNKNOWN
    if op in (0x30, 0x90) and off == 1:  # DIV, MOD: off 1 is the signed form
        sym = "s" + sym
    elif off != 0:
        return UNKNOWN
    if use_reg:
        return f"{r}{dst} {sym} {r}{src}" if _ok(src) else UNKNOWN
    return f"{r}{dst} {sym} {_hex(imm)}"


def _jmp(insn: Instruction, base: int, label: Label | None) -> str:
    code, dst, src, off, imm = insn.code, insn.dst, insn.src, insn.off, insn.imm
    op = code & 0xF0
    use_reg = bool(code & 0x08)
    wide = insn.cls == JMP
    where = base + insn.index

    def target(delta: int) -> str:
        text = _jump(delta)
        if label is not None:
            text += " " + label(((where + 1 + delta) * 8) % (1 << 64))
        return text

    if op == 0x00:  # JA / gotol
        if use_reg:
            return UNKNOWN
        return f"goto {target(off)}" if wide else f"gotol {target(imm)}"
    if op == 0x80:  # CALL
        if not wide:
            return UNKNOWN
        if use_reg:
            return f"callx r{dst}" if _ok(dst) else UNKNOWN
        return f"call {_hex(imm)}"
    if op == 0x90:  # EXIT
        return "exit" if code == 0x95 and not imm else UNKNOWN
    if op == 0xE0:  # JCOND: may_goto
        return f"may_goto {target(off)}" if wide and not use_reg else UNKNOWN
    sym = _JMP_OPS.get(op)
    if sym is None or not _ok(dst):
        return UNKNOWN
    r = "r" if wide else "w"
    if use_reg:
        if not _ok(src):
            return UNKNOWN
        return f"if {r}{dst} {sym} {r}{src} goto {target(off)}"
    return f"if {r}{dst} {sym} {_hex(imm)} goto {target(off)}"


def _mem(insn: Instruction) -> str:
    code, dst, src, off, imm = insn.code, insn.dst, insn.src, insn.off, insn.imm
    cls = insn.cls
    mode = code & 0xE0
    size = code & 0x18
    addr = f"(r{{}} {_signed_hex(off)})"
    if cls == LD:
        if code == 0x18:
            if insn.imm64 is None or off or not _ok(dst):
                return UNKNOWN
            if src:
                return f"ld_pseudo\tr{dst}, {src:#x}, {imm & 0xFFFFFFFF:#x}"
            value = insn.imm64 - (1 << 64) if insn.imm64 >> 63 else insn.imm64
            return f"r{dst} = {_hex(value)} ll"
        if mode == 0x20 and size != 0x18:  # ABS
            return f"r0 = *({_SIZES[size]} *)skb[{_hex(imm)}]"
        if mode == 0x40 and size != 0x18:  # IND
            return f"r0 = *({_SIZES[size]} *)skb[r{src}]" if _ok(src) else UNKNOWN
        return UNKNOWN
    if cls == LDX:
        if not _ok(dst, src):
            return UNKNOWN
        if mode == 0x60:
            return f"r{dst} = *({_SIZES[size]} *){addr.format(src)}"
        if mode == 0x80 and size in _SIGNED_SIZES:
            return f"r{dst} = *({_SIGNED_SIZES[size]} *){addr.format(src)}"
        return UNKNOWN
    if cls == ST:
        if mode == 0x60 and _ok(dst):
            return f"*({_SIZES[size]} *){addr.format(dst)} = {_hex(imm)}"
        return UNKNOWN
    # STX
    if not _ok(dst, src):
        return UNKNOWN
    if mode == 0x60:
        return f"*({_SIZES[size]} *){addr.format(dst)} = r{src}"
    if mode == 0xC0:
        return _atomic(insn, size, addr.format(dst))
    return UNKNOWN


def _atomic(insn: Instruction, size: int, addr: str) -> str:
    # llvm matches only the low byte of imm: bits 7-4 pick the operation, and bits 3-0
    # must be BPF_FETCH for the fetching forms while the plain "lock" forms ignore them.
    src = insn.src
    op, low = (insn.imm >> 4) & 0xF, insn.imm & 0xF
    if size == 0x18:
        if low == 1:
            fetch = _ATOMIC_FETCH.get(op)
            if fetch is not None:
                return f"r{src} = atomic_fetch_{fetch}((u64 *){addr}, r{src})"
            if op == 0xE:
                return f"r{src} = xchg_64({addr[1:-1]}, r{src})"
            if op == 0xF:
                return f"r0 = cmpxchg_64({addr[1:-1]}, r0, r{src})"
        lock = _ATOMIC_LOCK.get(op)
        return f"lock *(u64 *){addr} {lock} r{src}" if lock else UNKNOWN
    if size == 0x00 and op == 0:
        # Without --mattr=+alu32 llvm-objdump only knows the old 32-bit xadd.
        return f"lock *(u32 *){addr} += r{src}"
    return UNKNOWN


def instruction_text(insn: Instruction, base: int = 0, label: Label | None = None) -> str:
    """llvm-objdump's text for one instruction.

    ``base`` is the program's first slot within its section (llvm-objdump counts from the
    section start); ``label`` turns a section byte offset into ``<symbol+0x...>``.
    """
    cls = insn.cls
    if cls in (ALU, ALU64):
        return _alu(insn)
    if cls in (JMP, JMP32):
        return _jmp(insn, base, label)
    return _mem(insn)


def _function_labels(functions: list[ProgramSpec]) -> Label:
    """``<name+0x...>`` as llvm-objdump picks it: the last function starting at or before
    the address."""
    starts = sorted((f.offset, f.name) for f in functions)

    def label(address: int) -> str:
        best = None
        for start, name in starts:
            if start <= address:
                best = (start, name)
            else:
                break
        if best is None:
            return f"<{address:#x}>" if address >= 0 else ""
        delta = address - best[0]
        return f"<{best[1]}+{delta:#x}>" if delta else f"<{best[1]}>"

    return label


def _annotation(rel: Relocation) -> str:
    kind = rel.kind
    if kind == RelocationKind.MAP:
        return f"map {rel.target}"
    if kind == RelocationKind.GLOBAL:
        return f"&{rel.target} ({rel.section})"
    if kind in (RelocationKind.KCONFIG, RelocationKind.KSYM):
        return f"&{rel.target} ({kind.value})"
    if kind == RelocationKind.KFUNC:
        return f"kfunc {rel.target}"
    if kind == RelocationKind.CALL:
        return f"{rel.target}"
    if kind == RelocationKind.FUNC_POINTER:
        return f"&{rel.target} (function)"
    return f"{rel.symbol} ({rel.section or kind.value})"


def disassemble(
    program: ProgramSpec, functions: list[ProgramSpec], *, style: str = "default"
) -> list[str]:
    """The program's instructions as text lines, one per instruction.

    ``functions`` are every program and subprogram of the same section, for branch labels.
    In the ``"llvm"`` style each line is ``index: text`` as llvm-objdump numbers it (from
    the section start); the ``"default"`` style adds names and source lines.
    """
    if style not in ("llvm", "default"):
        raise ValueError(f"unknown disassembly style {style!r} (llvm or default)")
    base = program.offset // 8
    label = _function_labels([f for f in functions if f.section == program.section])
    lines: list[str] = []
    if style == "llvm":
        for insn in program.instructions:
            lines.append(f"{base + insn.index:>8}:\t{instruction_text(insn, base, label)}")
        return lines
    relocs = {r.index: r for r in program.relocations}
    cores: dict[int, list[str]] = {}
    for c in program.core_relocations:
        cores.setdefault(c.index, []).append(f"CO-RE {c.kind.name.lower()} {c.path}")
    source = {line.index: line for line in program.lines}
    last_text = None
    for insn in program.instructions:
        line = source.get(insn.index)
        if line is not None and line.text and line.text != last_text:
            lines.append(f"; {line.text.strip()}  [{line.file.rsplit('/', 1)[-1]}:{line.line}]")
            last_text = line.text
        text = instruction_text(insn, base, label)
        notes = []
        rel = relocs.get(insn.index)
        if insn.code == 0x85 and insn.src == 0 and rel is None:
            name = helper_name(insn.imm)
            if name is not None:
                text = f"call {name}#{insn.imm}"
        if rel is not None:
            if rel.kind in (RelocationKind.CALL, RelocationKind.KFUNC):
                text = f"call {_annotation(rel)}"
            else:
                notes.append(_annotation(rel))
        notes.extend(cores.get(insn.index, ()))
        suffix = f"\t; {'; '.join(notes)}" if notes else ""
        lines.append(f"{insn.index:>6}: {text}{suffix}")
    return lines
