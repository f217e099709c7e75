"""Records typed from BTF: the bytes of a C type as Python values, and as a numpy dtype.

An event channel is told the record's C type by name (``"struct event"``); this module
finds it in the BTF of the map's object and builds, once, a decoder (bytes -> value), an
encoder (value -> bytes) and a numpy dtype. Structs and unions decode to named tuples
(attribute access, ``==``), arrays to lists, ``char`` arrays to ``bytes`` up to the
first NUL, ``unsigned char`` arrays (``__u8[N]``: addresses, hashes) to all N ``bytes``,
integers and enums to ``int``.
"""

from __future__ import annotations

import struct
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from libbpf_py.errors import BpfError, LayoutError
from libbpf_py.inspect import Btf, BtfKind, read_btf
from libbpf_py.inspect.btf_types import Array, Struct
from libbpf_py.query import btf_data
from libbpf_py.types._record_decode import compile_decoder, members, scalar
from libbpf_py.types.typed import c_name, is_char, is_text

if TYPE_CHECKING:
    import numpy

__all__ = ["RecordType", "btf_of_map", "btf_of_object", "btf_of_program_id", "find_type",
           "kernel_btf", "record_type"]

Decoder = Callable[[Any, int], Any]
_KIND_WORDS = {"struct": BtfKind.STRUCT, "union": BtfKind.UNION, "enum": BtfKind.ENUM}


class RecordType:
    """One C type from BTF, with its decoder, encoder and numpy dtype built once."""

    def __init__(self, btf: Btf, type_id: int, name: str) -> None:
        self.btf = btf
        self.type_id = type_id
        self.name = name
        self.size = btf.size_of(type_id)
        self._decode = compile_decoder(btf, type_id, name)
        self._dtype: Any = None

    def __repr__(self) -> str:
        return f"<RecordType {self.name!r} {self.size} bytes>"

    def decode(self, data: bytes | bytearray | memoryview) -> Any:
        """Decode one record; it must hold at least :attr:`size` bytes."""
        if len(data) < self.size:
            raise LayoutError(f"a record of {len(data)} bytes is too short for "
                              f"{self.name} ({self.size} bytes)")
        return self._decode(data)

    def encode(self, value: Any) -> bytes:
        """Encode raw bytes (exactly :attr:`size`), a mapping of fields, or a decoded value."""
        if isinstance(value, bytes | bytearray | memoryview):
            if len(value) != self.size:
                raise LayoutError(f"{self.name} is {self.size} bytes, got {len(value)}")
            return bytes(value)
        out = bytearray(self.size)
        _encode(self.btf, self.type_id, value, out, 0, self.name)
        return bytes(out)

    def dtype(self) -> numpy.dtype[Any]:
        """The numpy dtype of this type (bitfields are left out; they have no dtype)."""
        if self._dtype is None:
            self._dtype = _dtype(self.btf, self.type_id)
        return self._dtype  # type: ignore[no-any-return]


def _encode(btf: Btf, type_id: int, value: Any, out: bytearray, off: int, what: str) -> None:
    t = btf.skip_qualifiers(type_id)
    code = scalar(btf, type_id)
    if code is not None:
        try:
            struct.pack_into("<" + code[0], out, off, value)
        except struct.error as exc:
            raise LayoutError(f"{what}: {value!r} does not fit ({exc})") from None
        return
    if isinstance(t, Array):
        item_size = btf.size_of(t.type_id)
        if isinstance(value, bytes | bytearray) and is_char(btf, t.type_id):
            if len(value) > t.nelems:
                raise LayoutError(f"{what} holds {t.nelems} bytes, got {len(value)}")
            out[off:off + len(value)] = value
            return
        items = list(value)
        if len(items) > t.nelems:
            raise LayoutError(f"{what} holds {t.nelems} items, got {len(items)}")
        for i, item in enumerate(items):
            _encode(btf, t.type_id, item, out, off + i * item_size, f"{what}[{i}]")
        return
    if isinstance(t, Struct):
        fields = {name: (mt, bits, bf) for name, mt, bits, bf in members(btf, t, 0)}
        if isinstance(value, Mapping):
            given = dict(value)
        elif hasattr(value, "_asdict"):
            given = value._asdict()
        else:
            raise TypeError(f"{what} is {t.kind.name.lower()} {t.name}: give a mapping of its "
                            f"fields or bytes, not {type(value).__name__}")
        unknown = set(given) - set(fields)
        if unknown:
            raise LayoutError(f"{what} ({t.name}) has no field {sorted(unknown)[0]!r}; its "
                              f"fields: {', '.join(fields)}")
        for name, item in given.items():
            mt, bits, bitfield = fields[name]
            if bitfield:
                first, shift = bits // 8, bits % 8
                nbytes = (shift + bitfield + 7) // 8
                mask = ((1 << bitfield) - 1) << shift
                raw = int.from_bytes(out[off + first:off + first + nbytes], "little")
                raw = (raw & ~mask) | ((int(item) << shift) & mask)
                out[off + first:off + first + nbytes] = raw.to_bytes(nbytes, "little")
            else:
                _encode(btf, mt, item, out, off + bits // 8, f"{what}.{name}")
        return
    raise LayoutError(f"{what}: cannot encode a value of BTF kind {t.kind.name}")


def _dtype(btf: Btf, type_id: int) -> Any:
    import numpy as np

    t = btf.skip_qualifiers(type_id)
    code = scalar(btf, type_id)
    if code is not None:
        return np.dtype("<" + code[0])
    if isinstance(t, Array):
        if is_text(btf, t.type_id):
            return np.dtype(f"S{t.nelems}")  # read back without trailing NULs, as decode()
        return np.dtype((_dtype(btf, t.type_id), (t.nelems,)))
    if isinstance(t, Struct):
        names, formats, offsets = [], [], []
        for name, member_type, bits, bitfield in members(btf, t, 0):
            if bitfield or bits % 8:
                continue
            names.append(name)
            formats.append(_dtype(btf, member_type))
            offsets.append(bits // 8)
        return np.dtype({"names": names, "formats": formats, "offsets": offsets,
                         "itemsize": t.size})
    return np.dtype(f"V{btf.size_of(type_id)}")


def find_type(btf: Btf, name: str) -> int:
    """The id of the type called ``name`` ("struct event", "event_t", "__u64")."""
    text = " ".join(name.split())
    word, _, rest = text.partition(" ")
    kind = _KIND_WORDS.get(word)
    wanted = rest if kind is not None else text
    for type_id in btf.ids_by_name(wanted):
        t = btf[type_id]
        if kind is None and t.kind in (BtfKind.FUNC, BtfKind.VAR, BtfKind.DATASEC,
                                       BtfKind.FWD, BtfKind.DECL_TAG, BtfKind.FUNC_PROTO):
            continue
        if kind is not None and t.kind != kind and not (
                kind == BtfKind.ENUM and t.kind == BtfKind.ENUM64):
            continue
        return type_id
    structs = sorted(c_name(t) for t in btf if isinstance(t, Struct) and t.name)
    hint = f"; types of that kind here: {', '.join(structs[:12])}" if structs else ""
    raise LayoutError(f"no BTF type named {name!r} in this object{hint}")


def record_type(btf: Btf, name: str) -> RecordType:
    """The :class:`RecordType` called ``name`` in ``btf``."""
    return RecordType(btf, find_type(btf, name), " ".join(name.split()))


_btf_cache: weakref.WeakKeyDictionary[Any, Btf] = weakref.WeakKeyDictionary()
_kernel_btf: list[Btf] = []
_lock = threading.Lock()


def _btf_from_libbpf(ptr: Any) -> Btf:
    from libbpf_py._lowlevel import ffi, lib

    size = ffi.new("__u32 *")
    raw = lib.btf__raw_data(ptr, size)
    if raw == ffi.NULL:
        raise LayoutError("libbpf gave no BTF data for this object")
    return read_btf(bytes(ffi.buffer(raw, size[0])))


def btf_of_object(owner: Any) -> Btf:
    """The BTF of a LoadedObject, parsed once per object."""
    from libbpf_py._lowlevel import ffi, lib

    with _lock:
        cached = _btf_cache.get(owner)
        if cached is not None:
            return cached
        ptr = lib.bpf_object__btf(owner._handle.ptr)
        if ptr == ffi.NULL:
            raise LayoutError(f"object {owner.name!r} has no BTF: compile it with -g to "
                              "use types by name")
        btf = _btf_from_libbpf(ptr)
        _btf_cache[owner] = btf
        return btf


def btf_of_program_id(btf_id: int) -> Btf:
    """The BTF the kernel holds under ``btf_id`` (of a map or program), parsed."""
    if not btf_id:
        raise LayoutError("this map or program carries no BTF: use bytes")
    try:
        data = btf_data(btf_id)
    except BpfError as exc:
        raise LayoutError(f"cannot read the kernel's BTF object id {btf_id}: {exc}") from None
    return read_btf(data)


def btf_of_map(m: Any) -> Btf:
    """The BTF of the object a map belongs to (or of the map itself), parsed once."""
    owner = getattr(m, "_owner", None)
    if owner is not None:
        return btf_of_object(owner)
    return btf_of_program_id(m.info().btf_id)


def kernel_btf() -> Btf:
    """The running kernel's BTF (/sys/kernel/btf/vmlinux), parsed once per process."""
    with _lock:
        if not _kernel_btf:
            with open("/sys/kernel/btf/vmlinux", "rb") as f:
                _kernel_btf.append(read_btf(f.read()))
        return _kernel_btf[0]
