"""CO-RE relocations resolved against a target kernel's BTF, offline, by libbpf's rules.

At load, libbpf takes each CO-RE relocation record of an object (a root type, an access
string such as ``0:1:3``, a kind), finds the *candidates* in the kernel's BTF (types of a
compatible kind whose name, with any ``___flavor`` suffix cut off, is the same), matches
the local access path against each, and patches the instruction with what the target
says (an offset, a size, an existence bit, an enumerator's value). What cannot be
resolved is *poisoned*: the instruction becomes a call of the invalid helper
195896080, which the verifier only rejects if it is reachable. A few things stop the
load before the verifier: an ambiguity between candidates, an offset too large for the
instruction, a malformed record.

:class:`Resolver` repeats that reasoning in Python, from the object's BTF and a target
BTF, without a kernel. It follows libbpf's rules (the ones ``relo_core.c`` states:
essential names, kind compatibility, field compatibility, member search through
anonymous members, flexible arrays, ``types_are_compat`` for type relocations and
``types_match`` for ``TYPE_MATCHES``), including its per-object candidate cache, which
keeps only the candidates that matched once one did. Kernel module BTF is not
searched: a type that only a module defines reads as missing.

What is exact and what is not: the resolution of each relocation against a given BTF is
exact; whether a poisoned instruction is reached at run time is not decided here (see
the portability report, which says so).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from libbpf_py.btf.kinds import (
    Array,
    BtfKind,
    BtfType,
    Enum,
    Float,
    FuncProto,
    Fwd,
    Int,
    Ptr,
    Qualifier,
    Struct,
)
from libbpf_py.btf.reader import Btf

from .btf_ext import CoreKind, CoreRecord

__all__ = [
    "POISON_HELPER",
    "Accessor",
    "CoreOutcome",
    "CoreSpec",
    "Resolution",
    "Resolver",
    "essential_name",
]

#: The helper id a poisoned instruction calls (0xbad2310, "bad relo"): the verifier
#: reports "invalid func unknown#195896080" if it reaches one.
POISON_HELPER = 195896080
#: libbpf's limit on access string length and nesting (BPF_CORE_SPEC_MAX_LEN).
SPEC_MAX_LEN = 64
_MAX_DEPTH = 32
_TYPE_KINDS = frozenset(
    {
        CoreKind.TYPE_ID_LOCAL,
        CoreKind.TYPE_ID_TARGET,
        CoreKind.TYPE_EXISTS,
        CoreKind.TYPE_MATCHES,
        CoreKind.TYPE_SIZE,
    }
)
_SKIPPED = frozenset(
    {
        BtfKind.TYPEDEF,
        BtfKind.VOLATILE,
        BtfKind.CONST,
        BtfKind.RESTRICT,
        BtfKind.TYPE_TAG,
    }
)
_ENUMS = (BtfKind.ENUM, BtfKind.ENUM64)
_COMPOSITES = (BtfKind.STRUCT, BtfKind.UNION)


class _Refused(Exception):
    """A record libbpf cannot even process: the load fails (EINVAL and friends)."""


def essential_name(name: str) -> str:
    """``name`` without its flavor: what follows the last ``___`` between two non-``_``
    characters (``task_struct___old`` -> ``task_struct``)."""
    for i in range(len(name) - 5, -1, -1):
        if name[i] != "_" and name[i + 1 : i + 4] == "___" and name[i + 4] != "_":
            return name[: i + 1]
    return name


@dataclass(frozen=True, slots=True)
class Accessor:
    """One meaningful step of an access path: a named member (``index`` is its position
    in the struct ``type_id``) or an array index (``name`` None)."""

    type_id: int
    index: int
    name: str | None


@dataclass(slots=True)
class CoreSpec:
    """An access path resolved in one BTF: the root type, the named members and array
    indexes taken (``accessors``), every raw step (``raw``) and the bit offset reached."""

    btf: Btf
    root_type_id: int
    kind: CoreKind
    accessors: list[Accessor] = field(default_factory=list)
    raw: list[int] = field(default_factory=list)
    bit_offset: int = 0

    def describe(self) -> str:
        """The path as libbpf's debug log writes it: ``[id] struct name.a[3].b (0:1:3 @
        offset 16)``, ``[id] enum e::NAME = 3``, or ``[id] struct name``."""
        root = self.btf.types[self.root_type_id]
        text = f"[{self.root_type_id}] {_kind_word(root)} {root.name or '<anon>'}"
        if self.kind in _TYPE_KINDS:
            return text
        if self.kind.is_enumval:
            enum_t = _skip(self.btf, self.root_type_id)
            if isinstance(enum_t, Enum) and self.raw:
                value = enum_t.values[self.raw[0]]
                return f"{text}::{value.name} = {value.value}"
            return text
        for i, acc in enumerate(self.accessors):
            if acc.name is not None:
                text += f".{acc.name}"
            elif i > 0 or acc.index > 0:
                text += f"[{acc.index}]"
        raw = ":".join(str(r) for r in self.raw)
        byte, bit = divmod(self.bit_offset, 8)
        return f"{text} ({raw} @ offset {byte}{f'.{bit}' if bit else ''})"


class CoreOutcome(enum.Enum):
    """What libbpf does with one relocation against a target."""

    #: Patched with the target's value.
    RESOLVED = "resolved"
    #: Nothing matched and the kind has an answer for that: an existence check gives 0,
    #: a type id or size 0. The program still loads; guards read the 0.
    ABSENT = "absent"
    #: Nothing matched (or the access is sized wrong): the instruction is poisoned. The
    #: load fails only if the verifier reaches it.
    POISONED = "poisoned"
    #: libbpf stops the load before the verifier (ambiguity, bad record, offset too big).
    REFUSED = "refused"


@dataclass(slots=True)
class Resolution:
    """One relocation against one target: what happened, with the specs and candidates."""

    record: CoreRecord
    #: The relocation's number within its ELF section, as libbpf counts it ("relo #N").
    index: int
    outcome: CoreOutcome
    local: CoreSpec | None
    target: CoreSpec | None
    #: The target type ids that had the local type's essential name and a compatible
    #: kind (before matching), and those that matched.
    candidates: tuple[int, ...] = ()
    matched: tuple[int, ...] = ()
    original: int = 0
    value: int = 0
    reason: str = ""
    #: For field offsets: the access size in the object and in the target, and whether
    #: changing one into the other would misread the value (a signed or odd type).
    sizes: tuple[int, int, bool] = (0, 0, False)

    @property
    def fails_load(self) -> bool:
        """Whether libbpf refuses the object over this relocation, verifier or not."""
        return self.outcome == CoreOutcome.REFUSED


@dataclass(slots=True)
class _Result:
    """What a relocation computes against one spec (``bpf_core_relo_res``)."""

    original: int = 0
    value: int = 0
    poison: bool = False
    original_size: int = 0
    new_size: int = 0
    original_type: int = 0
    new_type: int = 0
    size_mismatch: bool = False


def _kind_word(t: BtfType) -> str:
    return t.kind.name.lower()


def _skip(btf: Btf, type_id: int) -> BtfType:
    """``skip_mods_and_typedefs``: typedefs, const, volatile, restrict and type tags."""
    t = btf.types[type_id]
    for _ in range(_MAX_DEPTH * 8):
        if t.kind not in _SKIPPED:
            return t
        assert isinstance(t, Qualifier)
        t = btf.types[t.type_id]
    raise _Refused(f"type [{type_id}] is a loop of typedefs and modifiers")


def _skip_id(btf: Btf, type_id: int) -> int:
    return _skip(btf, type_id).id


def _size(btf: Btf, type_id: int) -> int:
    """``btf__resolve_size``; a type without a size refuses the record."""
    try:
        return btf.size_of(type_id)
    except Exception as exc:  # the reader's error for void, functions, forwards
        raise _Refused(f"type [{type_id}] has no size: {exc}") from None


def _kinds_compat(a: BtfType, b: BtfType) -> bool:
    return a.kind == b.kind or (a.kind in _ENUMS and b.kind in _ENUMS)


def _int_plain(t: BtfType) -> bool:
    return isinstance(t, Int) and t.bits_offset == 0


def _names_match(local: str, target: str) -> bool:
    """``bpf_core_names_match``: anonymous only matches anonymous; else essential names."""
    if not target:
        return not local
    return essential_name(local) == essential_name(target)


def types_are_compat(
    local: Btf, local_id: int, target: Btf, target_id: int, level: int = 32
) -> bool:
    """libbpf's compatibility of types for type relocations (root names already match):
    kinds match, ints are not old-style bitfields, pointers and arrays by their targets,
    functions by their parameters and return types."""
    lt, tt = local.types[local_id], target.types[target_id]
    if not _kinds_compat(lt, tt):
        return False
    for _ in range(_MAX_DEPTH):
        lt, tt = _skip(local, local_id), _skip(target, target_id)
        if not _kinds_compat(lt, tt):
            return False
        if lt.kind in (*_COMPOSITES, *_ENUMS, BtfKind.FWD, BtfKind.VOID):
            return True
        if isinstance(lt, Int):
            return _int_plain(lt) and _int_plain(tt)
        if isinstance(lt, Ptr | Array) and isinstance(tt, Ptr | Array) and lt.kind == tt.kind:
            local_id, target_id = lt.type_id, tt.type_id
        elif isinstance(lt, FuncProto) and isinstance(tt, FuncProto):
            if len(lt.params) != len(tt.params):
                return False
            for lp, tp in zip(lt.params, tt.params, strict=True):
                if level <= 0:
                    raise _Refused("function prototypes nest too deep")
                if not types_are_compat(
                    local,
                    _skip_id(local, lp.type_id),
                    target,
                    _skip_id(target, tp.type_id),
                    level - 1,
                ):
                    return False
            local_id, target_id = lt.return_type_id, tt.return_type_id
        else:
            return False
    raise _Refused("types nest too deep")


def types_match(
    local: Btf,
    local_id: int,
    target: Btf,
    target_id: int,
    behind_ptr: bool = False,
    level: int = 32,
) -> bool:
    """libbpf's stricter "types match" of ``TYPE_MATCHES``: names, sizes and signedness,
    every local member and enumerator by name in the target, arrays by length."""
    if level <= 0:
        raise _Refused("types nest too deep")
    for _ in range(_MAX_DEPTH):
        lt, tt = _skip(local, local_id), _skip(target, target_id)
        if not _names_match(lt.name, tt.name):
            return False
        if lt.kind == BtfKind.VOID:
            return tt.kind == BtfKind.VOID
        if isinstance(lt, Fwd):
            if behind_ptr and isinstance(tt, Struct):
                return tt.is_union == lt.is_union
            return isinstance(tt, Fwd) and tt.is_union == lt.is_union
        if isinstance(lt, Enum):
            return isinstance(tt, Enum) and _enums_match(lt, tt)
        if isinstance(lt, Struct):
            if behind_ptr:
                if isinstance(tt, Struct):
                    return tt.kind == lt.kind
                return isinstance(tt, Fwd) and tt.is_union == lt.is_union
            if not isinstance(tt, Struct) or tt.kind != lt.kind:
                return False
            return _composites_match(local, lt, target, tt, level)
        if isinstance(lt, Int):
            return isinstance(tt, Int) and lt.size == tt.size and lt.is_signed == tt.is_signed
        if isinstance(lt, Ptr):
            if not isinstance(tt, Ptr):
                return False
            behind_ptr = True
            local_id, target_id = lt.type_id, tt.type_id
        elif isinstance(lt, Array):
            if not isinstance(tt, Array) or lt.nelems != tt.nelems:
                return False
            local_id, target_id = lt.type_id, tt.type_id
        elif isinstance(lt, FuncProto):
            if not isinstance(tt, FuncProto) or len(lt.params) != len(tt.params):
                return False
            for lp, tp in zip(lt.params, tt.params, strict=True):
                if not types_match(local, lp.type_id, target, tp.type_id, behind_ptr, level - 1):
                    return False
            local_id, target_id = lt.return_type_id, tt.return_type_id
        else:
            return False  # floats and the rest are never relocated (libbpf warns)
    raise _Refused("types nest too deep")


def _enums_match(lt: Enum, tt: Enum) -> bool:
    if lt.size != tt.size or len(lt.values) > len(tt.values):
        return False
    return all(any(_names_match(v.name, w.name) for w in tt.values) for v in lt.values)


def _composites_match(local: Btf, lt: Struct, target: Btf, tt: Struct, level: int) -> bool:
    if len(lt.members) > len(tt.members):
        return False
    for lm in lt.members:
        if not any(
            _names_match(lm.name, tm.name)
            and types_match(local, lm.type_id, target, tm.type_id, False, level - 1)
            for tm in tt.members
        ):
            return False
    return True


def _fields_compat(local: Btf, local_id: int, target: Btf, target_id: int) -> bool:
    """``bpf_core_fields_are_compat``: what a matched member's types must share."""
    for _ in range(_MAX_DEPTH):
        lt, tt = _skip(local, local_id), _skip(target, target_id)
        if lt.kind in _COMPOSITES and tt.kind in _COMPOSITES:
            return True
        if not _kinds_compat(lt, tt):
            return False
        if isinstance(lt, Ptr | Float):
            return True
        if isinstance(lt, Fwd | Enum):
            a, b = essential_name(lt.name), essential_name(tt.name)
            return not a or not b or a == b
        if isinstance(lt, Int):
            return _int_plain(lt) and _int_plain(tt)
        if isinstance(lt, Array) and isinstance(tt, Array):
            local_id, target_id = lt.type_id, tt.type_id
            continue
        return False
    raise _Refused("member types nest too deep")


def _is_flex(btf: Btf, parent: Accessor | None, array: Array) -> bool:
    """A zero-length array that is the last member of the struct it was reached through."""
    if parent is None or parent.name is None or array.nelems > 0:
        return False
    t = btf.types[parent.type_id]
    return isinstance(t, Struct) and parent.index == len(t.members) - 1


def parse_spec(btf: Btf, record: CoreRecord) -> CoreSpec:
    """The local spec of a record (``bpf_core_parse_spec``); :class:`_Refused` if libbpf
    would refuse to parse it."""
    access = record.access
    spec = CoreSpec(btf, record.type_id, record.kind)
    if not access or access.startswith(":"):
        raise _Refused(f"access string {access!r} is empty")
    if record.kind in _TYPE_KINDS:
        if access != "0":
            raise _Refused(f"a type relocation's access string must be '0', not {access!r}")
        return spec
    try:
        raw = [int(part) for part in access.split(":")]
    except ValueError:
        raise _Refused(f"access string {access!r} is not a list of numbers") from None
    if len(raw) > SPEC_MAX_LEN:
        raise _Refused(f"access string {access!r} is longer than {SPEC_MAX_LEN}")
    if not 0 < record.type_id < len(btf.types):
        raise _Refused(f"root type [{record.type_id}] does not exist")
    spec.raw = raw
    t = _skip(btf, record.type_id)
    spec.accessors.append(Accessor(t.id, raw[0], None))
    if record.kind.is_enumval:
        if not isinstance(t, Enum) or len(raw) > 1 or not 0 <= raw[0] < len(t.values):
            raise _Refused(f"access {access!r} names no enumerator of [{record.type_id}]")
        spec.accessors[0] = Accessor(t.id, raw[0], t.values[raw[0]].name)
        return spec
    type_id = t.id
    spec.bit_offset = raw[0] * _size(btf, type_id) * 8
    for step in raw[1:]:
        t = _skip(btf, type_id)
        if isinstance(t, Struct):
            if not 0 <= step < len(t.members):
                raise _Refused(f"member {step} of [{t.id}] does not exist")
            member = t.members[step]
            spec.bit_offset += member.bits_offset
            if member.name:
                spec.accessors.append(Accessor(t.id, step, member.name))
            type_id = member.type_id
        elif isinstance(t, Array):
            elem = _skip(btf, t.type_id)
            if not _is_flex(btf, spec.accessors[-1], t) and not 0 <= step < t.nelems:
                raise _Refused(f"index {step} is outside array [{t.id}] of {t.nelems}")
            spec.accessors.append(Accessor(elem.id, step, None))
            type_id = elem.id
            spec.bit_offset += step * _size(btf, type_id) * 8
        else:
            raise _Refused(f"access {access!r} goes into a {t.kind.name} ([{t.id}])")
    return spec


class Resolver:
    """Resolves an object's CO-RE relocations against one target BTF.

    One resolver is one load: its candidate cache (per local root type, pruned to the
    candidates that matched) carries from one relocation to the next, as libbpf's does
    for one object. Feed it the records in the object's order.
    """

    def __init__(self, local: Btf, target: Btf) -> None:
        self.local = local
        self.target = target
        self._cache: dict[int, list[int]] = {}
        self._by_name: dict[str, list[int]] | None = None

    def _index(self) -> dict[str, list[int]]:
        if self._by_name is None:
            index: dict[str, list[int]] = {}
            for t in self.target.types[1:]:
                if t.name:
                    index.setdefault(essential_name(t.name), []).append(t.id)
            self._by_name = index
        return self._by_name

    def candidates(self, local_id: int) -> list[int]:
        """The target types a local type may relocate to: a compatible kind and the same
        essential name, in the target's id order (``bpf_core_find_cands``)."""
        local_t = self.local.types[local_id]
        found = self._index().get(essential_name(local_t.name), [])
        return [i for i in found if _kinds_compat(self.target.types[i], local_t)]

    def resolve(self, record: CoreRecord, index: int, insn: bytes | None = None) -> Resolution:
        """What libbpf does with ``record`` (``index``: its number in its section).

        ``insn`` is the instruction the record patches (16 bytes for a 64-bit load, 8
        otherwise, in the object's byte order: little-endian here). With it, the result
        also says what patching that instruction does: a load or store whose size would
        change for a signed value is poisoned, an offset past 32767 refused.
        """
        try:
            resolution = self._resolve(record, index)
            if insn is not None and resolution.outcome != CoreOutcome.POISONED:
                _check_patch(resolution, insn)
            return resolution
        except _Refused as exc:
            return Resolution(record, index, CoreOutcome.REFUSED, None, None, reason=str(exc))

    def _resolve(self, record: CoreRecord, index: int) -> Resolution:
        if not 0 < record.type_id < len(self.local.types):
            raise _Refused(f"root type [{record.type_id}] does not exist")
        local_spec = parse_spec(self.local, record)
        if record.kind == CoreKind.TYPE_ID_LOCAL:
            return Resolution(
                record,
                index,
                CoreOutcome.RESOLVED,
                local_spec,
                local_spec,
                original=record.type_id,
                value=record.type_id,
            )
        local_t = self.local.types[record.type_id]
        if not local_t.name:
            raise _Refused("CO-RE relocations of anonymous types are not supported")
        cands = self._cache.get(record.type_id)
        if cands is None:
            cands = self._cache[record.type_id] = self.candidates(record.type_id)
        all_cands = tuple(cands)
        kept: list[int] = []
        chosen: _Result | None = None
        chosen_spec: CoreSpec | None = None
        for cand in cands:
            spec = self._match(local_spec, cand)
            if spec is None:
                continue
            result = _calc(record.kind, local_spec, spec)
            if chosen is None:
                chosen, chosen_spec = result, spec
            elif chosen_spec is not None and spec.bit_offset != chosen_spec.bit_offset:
                raise _Refused(
                    f"field offset ambiguity: {spec.bit_offset} != {chosen_spec.bit_offset}"
                )
            elif result.poison != chosen.poison or result.value != chosen.value:
                raise _Refused(
                    "relocation decision ambiguity between candidates "
                    f"[{chosen_spec.root_type_id if chosen_spec else '?'}] and [{cand}]"
                )
            kept.append(cand)
        if kept:
            self._cache[record.type_id] = kept
        else:
            chosen = _calc(record.kind, local_spec, None)
        assert chosen is not None
        outcome = CoreOutcome.RESOLVED if kept else CoreOutcome.ABSENT
        reason = ""
        if chosen.poison:
            outcome = CoreOutcome.POISONED
            reason = (
                "no candidate in the target's BTF matches"
                if not kept
                else "the access has another size in the target and is not an unsigned "
                "integer or pointer"
            )
        return Resolution(
            record,
            index,
            outcome,
            local_spec,
            chosen_spec if kept else None,
            candidates=all_cands,
            matched=tuple(kept),
            original=chosen.original,
            value=chosen.value,
            reason=reason,
            sizes=(chosen.original_size, chosen.new_size, chosen.size_mismatch),
        )

    def _match(self, local: CoreSpec, cand: int) -> CoreSpec | None:
        """``bpf_core_spec_match``: the target spec of ``local`` in candidate ``cand``."""
        target = self.target
        spec = CoreSpec(target, cand, local.kind)
        if local.kind in _TYPE_KINDS:
            if local.kind == CoreKind.TYPE_MATCHES:
                ok = types_match(self.local, local.root_type_id, target, cand)
            else:
                ok = types_are_compat(self.local, local.root_type_id, target, cand)
            return spec if ok else None
        if local.kind.is_enumval:
            t = _skip(target, cand)
            if not isinstance(t, Enum):
                return None
            want = essential_name(local.accessors[0].name or "")
            for i, value in enumerate(t.values):
                if essential_name(value.name) == want:
                    spec.accessors.append(Accessor(t.id, i, value.name))
                    spec.raw.append(i)
                    return spec
            return None
        type_id = cand
        for i, acc in enumerate(local.accessors):
            t = _skip(target, type_id)
            type_id = t.id
            if acc.name is not None:
                found = self._match_member(local, acc, type_id, spec)
                if found is None:
                    return None
                type_id = found
                continue
            if i > 0:
                if not isinstance(t, Array):
                    return None
                parent = spec.accessors[-1] if spec.accessors else None
                if not _is_flex(target, parent, t) and acc.index >= t.nelems:
                    return None
                type_id = _skip_id(target, t.type_id)
            if len(spec.raw) >= SPEC_MAX_LEN:
                raise _Refused("the target's access path is too deep")
            spec.accessors.append(Accessor(type_id, acc.index, None))
            spec.raw.append(acc.index)
            spec.bit_offset += acc.index * _size(target, type_id) * 8
        return spec

    def _match_member(
        self, local: CoreSpec, acc: Accessor, target_id: int, spec: CoreSpec
    ) -> int | None:
        """Find the local member ``acc`` by name in ``target_id``, through anonymous
        members; extend ``spec`` and return the member's type id, or None."""
        t = _skip(self.target, target_id)
        if not isinstance(t, Struct):
            return None
        local_struct = self.local.types[acc.type_id]
        assert isinstance(local_struct, Struct)
        local_member = local_struct.members[acc.index]
        for i, m in enumerate(t.members):
            if len(spec.raw) >= SPEC_MAX_LEN:
                raise _Refused("the target's access path is too deep")
            spec.bit_offset += m.bits_offset
            spec.raw.append(i)
            if not m.name:
                inner = self._match_member(local, acc, m.type_id, spec)
                if inner is not None:
                    return inner
            elif m.name == local_member.name:
                if not _fields_compat(self.local, local_member.type_id, self.target, m.type_id):
                    return None  # libbpf stops at the first member of that name
                spec.accessors.append(Accessor(t.id, i, m.name))
                return m.type_id
            spec.bit_offset -= m.bits_offset
            spec.raw.pop()
        return None


_BPF_LD, _BPF_LDX, _BPF_ST, _BPF_STX, _BPF_ALU, _BPF_ALU64 = 0, 1, 2, 3, 4, 7
_BPF_X = 0x08
_LD_IMM64 = 0x18
_SIZES = {0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8}  # BPF_W, BPF_H, BPF_B, BPF_DW


def _check_patch(res: Resolution, insn: bytes) -> None:
    """``bpf_core_patch_insn``'s checks on the instruction itself, applied to ``res``."""
    if len(insn) < 8:
        raise _Refused("the relocated instruction is cut short")
    code = insn[0]
    cls = code & 0x07
    if cls in (_BPF_ALU, _BPF_ALU64):
        if code & _BPF_X:
            raise _Refused("an ALU instruction with a register operand cannot be relocated")
    elif cls in (_BPF_LDX, _BPF_ST, _BPF_STX):
        original_size, new_size, mismatch = res.sizes
        if res.value > 0x7FFF:
            raise _Refused(f"offset {res.value} does not fit the instruction (at most 32767)")
        if mismatch:
            res.outcome = CoreOutcome.POISONED
            res.reason = (
                f"the field is {new_size} bytes in the target, {original_size} here, and "
                "is not an unsigned integer or pointer: the access would misread it"
            )
            return
        if original_size != new_size:
            if _SIZES.get(code & 0x18) != original_size:
                raise _Refused("the instruction's access size is not the field's")
            if new_size not in (1, 2, 4, 8):
                raise _Refused(f"no load or store has {new_size} bytes")
    elif cls == _BPF_LD:
        if code != _LD_IMM64 or len(insn) < 16 or insn[1] >> 4 or insn[2:4] != b"\0\0":
            raise _Refused("a 64-bit load of another form cannot be relocated")
        if insn[8:12] != b"\0\0\0\0":
            raise _Refused("a 64-bit load of another form cannot be relocated")
    else:
        raise _Refused(f"instruction class {cls} cannot be relocated")


def _calc(kind: CoreKind, local: CoreSpec, target: CoreSpec | None) -> _Result:
    """``bpf_core_calc_relo``: the original and the new value, and whether to poison."""
    res = _Result()
    if kind.is_field:
        poison_local, res.original, res.original_size, res.original_type = _field_value(kind, local)
        if target is None:
            if kind == CoreKind.FIELD_EXISTS:
                return res  # exists: 0
            res.poison = True
            return res
        _, res.value, res.new_size, res.new_type = _field_value(kind, target)
        if poison_local:
            res.poison = True
        if res.original_size != res.new_size:
            ot, nt = local.btf.types[res.original_type], target.btf.types[res.new_type]
            unsigned = (
                isinstance(ot, Int)
                and isinstance(nt, Int)
                and not ot.is_signed
                and not nt.is_signed
            )
            res.size_mismatch = not (isinstance(ot, Ptr) and isinstance(nt, Ptr)) and not unsigned
        return res
    if kind in _TYPE_KINDS:
        res.original = _type_value(kind, local)
        res.value = _type_value(kind, target) if target is not None else 0
        return res
    res.original = _enum_value(kind, local)
    if target is None:
        res.poison = kind == CoreKind.ENUMVAL_VALUE
        return res
    res.value = _enum_value(kind, target)
    return res


def _field_value(kind: CoreKind, spec: CoreSpec) -> tuple[bool, int, int, int]:
    """(poison, value, access size, type id) of a field relocation on ``spec``."""
    if kind == CoreKind.FIELD_EXISTS:
        return False, 1, 0, 0
    btf = spec.btf
    acc = spec.accessors[-1]
    if acc.name is None:
        if kind == CoreKind.FIELD_BYTE_OFFSET:
            elem = _skip(btf, acc.type_id)
            while isinstance(elem, Array):
                elem = _skip(btf, elem.type_id)
            return False, spec.bit_offset // 8, _size(btf, elem.id), acc.type_id
        if kind == CoreKind.FIELD_BYTE_SIZE:
            return False, _size(btf, acc.type_id), 0, 0
        raise _Refused(f"a {kind.name} relocation cannot apply to an array element")
    parent = btf.types[acc.type_id]
    assert isinstance(parent, Struct)
    member = parent.members[acc.index]
    mt = _skip(btf, member.type_id)
    bit_off, bit_sz = spec.bit_offset, member.bitfield_size
    size, field_type = 0, 0
    if bit_sz:
        byte_sz = getattr(mt, "size", 0) or 1
        byte_off = bit_off // 8 // byte_sz * byte_sz
        while bit_off + bit_sz - byte_off * 8 > byte_sz * 8:
            if byte_sz >= 8:
                raise _Refused("the bitfield cannot be read with one 64-bit load")
            byte_sz *= 2
            byte_off = bit_off // 8 // byte_sz * byte_sz
    else:
        byte_sz = _size(btf, mt.id)
        byte_off = bit_off // 8
        bit_sz = byte_sz * 8
        elem = mt
        while isinstance(elem, Array):
            elem = _skip(btf, elem.type_id)
        size, field_type = _size(btf, elem.id), mt.id
    if kind == CoreKind.FIELD_BYTE_OFFSET:
        return False, byte_off, size, field_type
    if kind == CoreKind.FIELD_BYTE_SIZE:
        return False, byte_sz, 0, 0
    if kind == CoreKind.FIELD_SIGNED:
        signed = (isinstance(mt, Enum) and mt.signed) or (isinstance(mt, Int) and mt.is_signed)
        return False, int(signed), 0, 0
    if kind == CoreKind.FIELD_LSHIFT_U64:
        return False, 64 - (bit_off + bit_sz - byte_off * 8), 0, 0
    return False, 64 - bit_sz, 0, 0  # FIELD_RSHIFT_U64


def _type_value(kind: CoreKind, spec: CoreSpec) -> int:
    if kind == CoreKind.TYPE_ID_TARGET:
        return spec.root_type_id
    if kind in (CoreKind.TYPE_EXISTS, CoreKind.TYPE_MATCHES):
        return 1
    return _size(spec.btf, spec.root_type_id)  # TYPE_SIZE


def _enum_value(kind: CoreKind, spec: CoreSpec) -> int:
    if kind == CoreKind.ENUMVAL_EXISTS:
        return 1
    t = _skip(spec.btf, spec.accessors[0].type_id)
    assert isinstance(t, Enum)
    return t.values[spec.accessors[0].index].value
