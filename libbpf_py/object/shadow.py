"""The shadow of a struct_ops map: its C struct, writable from Python before load.

libbpf keeps one copy of every struct_ops variable of an object (``SEC(".struct_ops")``
and ``SEC(".struct_ops.link")``), read from the ELF section at open and handed out by
``bpf_map__initial_value``. At load it copies the data members from there into the value
the kernel gets at registration, so what Python writes into the copy between open and
load is what the subsystem registers (a TCP congestion control's ``name`` and
``flags``, say). The pointer members of the copy hold libbpf's ``struct bpf_program *``
of the program that implements the slot (libbpf reads every pointer member so); here
they read and write as the object's :class:`~libbpf_py.OpenProgram` (or ``None`` for an
empty slot).

The data members go through the one BTF-to-Python engine (:mod:`libbpf_py.types`): a
member reads as the engine decodes it, and a write is encoded by the same codec.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from libbpf_py.btf.kinds import Ptr, Struct
from libbpf_py.enums import ProgType
from libbpf_py.errors import LayoutError, NameNotFound, unknown_name_message
from libbpf_py.types.typed import StructCodec, TypeCodecs

__all__ = ["StructOpsShadow", "struct_ops_layout"]


class StructOpsShadow:
    """The struct of one struct_ops map before load, member by member as attributes.

    ``shadow.name = b"my_cc"`` sets a data member; ``shadow.init`` is the
    :class:`~libbpf_py.OpenProgram` in the ``init`` slot, and assigning another
    struct_ops program of the same object (or ``None``) to it changes which program
    load() registers there (libbpf then skips loading the one it replaced, unless
    another slot uses it). Every access checks that the object is still open:
    after load() the shadow is spent and raises :class:`~libbpf_py.errors.PhaseError`.
    """

    __slots__ = ("_codec", "_functions", "_live", "_map", "_mem", "_programs")
    _codec: StructCodec
    _functions: frozenset[str]
    _live: Callable[[str], None]
    _map: str
    _mem: memoryview
    _programs: Callable[[], Mapping[int, Any]]

    def __init__(
        self,
        map_name: str,
        mem: memoryview,
        codec: StructCodec,
        functions: frozenset[str],
        programs: Callable[[], Mapping[int, Any]],
        live: Callable[[str], None],
    ) -> None:
        object.__setattr__(self, "_map", map_name)
        object.__setattr__(self, "_mem", mem)
        object.__setattr__(self, "_codec", codec)
        object.__setattr__(self, "_functions", functions)
        # The object's programs by the address of libbpf's struct bpf_program, what a
        # function-pointer member holds.
        object.__setattr__(self, "_programs", programs)
        object.__setattr__(self, "_live", live)

    @property
    def type_name(self) -> str:
        """The C type of the struct, e.g. ``struct tcp_congestion_ops``."""
        return self._codec.c_name

    def __repr__(self) -> str:
        return f"<StructOpsShadow {self._map!r} ({self._codec.c_name})>"

    def __dir__(self) -> list[str]:
        return [*self, "as_dict", "type_name"]

    def __iter__(self) -> Iterator[str]:
        """The member names, in the struct's order."""
        return iter([f.name for f in self._codec.fields])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") and name in StructOpsShadow.__slots__:
            raise AttributeError(name)
        self._check_member(name)
        value = self._current(f"reading {name!r}")
        if name in self._functions:
            return self._programs().get(getattr(value, name))
        return getattr(value, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._check_member(name)
        current = self._current(f"setting {name!r}")
        if name in self._functions:
            value = self._program_address(name, value)
        raw = self._codec.encode(current._replace(**{name: value}))
        self._mem[:] = raw

    def __getitem__(self, name: str) -> Any:
        if name not in self._codec.names:
            raise NameNotFound("member", name, self._where(), self)
        return self.__getattr__(name)

    def __setitem__(self, name: str, value: Any) -> None:
        if name not in self._codec.names:
            raise NameNotFound("member", name, self._where(), self)
        self.__setattr__(name, value)

    def as_dict(self) -> dict[str, Any]:
        """Every member's current value (function slots as their OpenProgram or None)."""
        return {name: self.__getattr__(name) for name in self}

    def _where(self) -> str:
        return f"struct_ops map {self._map!r} ({self._codec.c_name})"

    def _check_member(self, name: str) -> None:
        if name not in self._codec.names:
            raise AttributeError(unknown_name_message("member", name, self._where(), self))

    def _current(self, what: str) -> Any:
        # The shadow is libbpf's memory: never touch it once the object is spent.
        self._live(f"the struct_ops shadow of map {self._map!r}: {what}")
        return self._codec.decode(self._mem.tobytes())

    def _program_address(self, name: str, program: Any) -> int:
        if program is None:
            return 0
        for address, candidate in self._programs().items():
            if candidate is program:
                if program.type != ProgType.STRUCT_OPS:
                    raise LayoutError(
                        f"struct_ops map {self._map!r}: {name!r} takes a struct_ops "
                        f"program, and {program.name!r} is a {program.type.label} program"
                    )
                return int(address)
        raise TypeError(
            f"struct_ops map {self._map!r}: {name!r} is a function slot; give an "
            f"OpenProgram of the same object (or None), not {program!r}"
        )


def struct_ops_layout(
    types: TypeCodecs, type_id: int, what: str
) -> tuple[StructCodec, frozenset[str]]:
    """The engine's codec of struct ``type_id`` and the names (the engine's) of its
    pointer members, which libbpf's shadow holds as program slots."""
    btf = types.btf
    t = btf.skip_qualifiers(type_id)
    codec = types.codec(type_id, what)
    if not isinstance(t, Struct) or not isinstance(codec, StructCodec):
        raise LayoutError(f"{what}: BTF type {type_id} is no struct, so no struct_ops type")
    by_offset = {f.offset: f.name for f in codec.fields if not f.bits}
    names = set()
    for m in t.members:
        target = btf.skip_qualifiers(m.type_id)
        # libbpf reads every pointer member of the shadow as a struct bpf_program *
        # (a function slot); the kernel then refuses one that is no function pointer.
        if isinstance(target, Ptr):
            name = by_offset.get(m.bits_offset // 8)
            if name is not None:
                names.add(name)
    return codec, frozenset(names)
