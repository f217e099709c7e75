"""The BTF types of a map's keys and values: found, checked and turned into codecs.

It also keeps the engines (:class:`~libbpf_py.types.typed.TypeCodecs`), one per BTF
blob: an object's BTF is parsed once whether its globals (open), its maps (load), its
records or its programs' contexts ask for it, and every one of them gets the same
generated classes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from libbpf_py.errors import LayoutError
from libbpf_py.types._codec import Codec
from libbpf_py.types.typed import TypeCodecs, simple_type

if TYPE_CHECKING:
    from libbpf_py.btf.kinds import BtfType

__all__ = [
    "TypeRef",
    "declared_types",
    "explicit_codec",
    "type_ref",
    "types_of_data",
    "vmlinux_types",
]

# BTF blobs this process has parsed, newest last; a bound keeps programs that load many
# different objects from holding every one of them.
_ENGINES: OrderedDict[bytes, TypeCodecs] = OrderedDict()
_MAX_ENGINES = 32
_vmlinux: list[TypeCodecs] = []
_lock = threading.Lock()


def types_of_data(data: bytes) -> TypeCodecs:
    """The engine of one BTF blob, parsed on first use and shared afterwards."""
    from libbpf_py.btf import read_btf

    with _lock:
        found = _ENGINES.get(data)
        if found is not None:
            _ENGINES.move_to_end(data)
            return found
    types = TypeCodecs(read_btf(data))
    with _lock:
        found = _ENGINES.setdefault(data, types)  # another thread may have been first
        while len(_ENGINES) > _MAX_ENGINES:
            _ENGINES.popitem(last=False)
        return found


def vmlinux_types() -> TypeCodecs:
    """The engine of the running kernel's BTF (/sys/kernel/btf/vmlinux), read once."""
    from libbpf_py.btf import read_btf

    with _lock:
        if _vmlinux:
            return _vmlinux[0]
    with open("/sys/kernel/btf/vmlinux", "rb") as f:
        types = TypeCodecs(read_btf(f.read()))
    with _lock:
        if not _vmlinux:
            _vmlinux.append(types)
        return _vmlinux[0]


@dataclass(frozen=True)
class TypeRef:
    """A BTF type of a map's key or value, with the codec built for it."""

    codecs: TypeCodecs
    type_id: int
    codec: Codec

    @property
    def btf_type(self) -> BtfType:
        """The BTF type record (typedefs and qualifiers followed)."""
        return self.codecs.btf.skip_qualifiers(self.type_id)

    @property
    def name(self) -> str:
        """The C name of the type, e.g. ``struct flow``."""
        return self.codecs.type_name(self.type_id)

    @property
    def python_type(self) -> type | None:
        """The generated class for structs and unions, the IntEnum for enums."""
        return getattr(self.codec, "cls", None) or getattr(self.codec, "enum", None)

    def __repr__(self) -> str:
        return f"<TypeRef {self.name} ({self.codec.size} bytes)>"


def type_ref(types: TypeCodecs | None, type_id: int, size: int, what: str) -> TypeRef | None:
    """The TypeRef of ``type_id``, or None if there is no BTF, no type, or one we cannot
    model at ``size`` bytes (the map then uses raw bytes)."""
    if types is None or not type_id:
        return None
    try:
        codec = types.codec(type_id, what)
    except (LayoutError, KeyError, ValueError):
        return None  # a type we cannot model: raw bytes then
    if codec.size != size:
        return None
    return TypeRef(types, type_id, codec)


def explicit_codec(spec: Any, size: int, what: str) -> Codec:
    """The codec of a ``key_type``/``value_type`` argument: a name, a TypeRef or a codec."""
    if isinstance(spec, str):
        return simple_type(spec, size, what)
    if isinstance(spec, TypeRef):
        spec = spec.codec
    if hasattr(spec, "encode") and hasattr(spec, "decode") and hasattr(spec, "size"):
        if spec.size != size:
            raise LayoutError(f"{what} is {size} bytes, but the type given is {spec.size}")
        return spec  # type: ignore[no-any-return]
    raise TypeError(
        f"{what}: a type is 'u32'-style name, a TypeRef or a codec, not {type(spec).__name__}"
    )


def declared_types(types: TypeCodecs | None, name: str) -> tuple[int, int]:
    """The key and value type ids a ``.maps`` definition declares for map ``name``.

    libbpf drops the BTF ids of maps whose kernel type takes no BTF (queues, stacks,
    fd maps...) at load; the definition in ``.maps`` still names the types.
    """
    from libbpf_py.btf.kinds import Datasec, Ptr, Struct, Var

    if types is None:
        return 0, 0
    btf = types.btf
    for ds_id in btf.ids_by_name(".maps"):
        ds = btf.type_by_id(ds_id)
        if not isinstance(ds, Datasec):
            continue
        for vsi in ds.vars:
            var = btf.type_by_id(vsi.type_id)
            if not isinstance(var, Var) or var.name != name:
                continue
            st = btf.skip_qualifiers(var.type_id)
            if not isinstance(st, Struct):
                return 0, 0
            found = {"key": 0, "value": 0}
            for m in st.members:
                if m.name in found:
                    ptr = btf.skip_qualifiers(m.type_id)
                    if isinstance(ptr, Ptr):
                        found[m.name] = ptr.type_id
            return found["key"], found["value"]
    return 0, 0
