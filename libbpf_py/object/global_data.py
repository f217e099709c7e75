"""Global variables of a BPF object: ``obj.bss.NAME``, ``obj.data.NAME``, ``obj.rodata.NAME``.

Each global-data section (``.data``, ``.bss``, ``.rodata``, ``.data.NAME``...) is one
array map of one entry whose layout is a BTF DATASEC. libbpf keeps a memory area per
section: before load it holds the initial values (set them on the ``OpenObject``); after
load it *is* the kernel map, mapped into this process, so reading and writing a global
costs no system call and the program sees a write at once (and Python sees the
program's). ``.rodata`` is frozen by the load: reading works, writing raises
:class:`~libbpf_py.errors.PhaseError`.

The section classes are generated once per section with one property per variable, so
``obj.bss.counter`` is a property read and a memoryview index.

``__arena`` globals (section ``.addr_space.1``) live in the object's arena map instead.
Before load they are libbpf's copy of their initial values; after load they are read
and written through the arena's :class:`~libbpf_py.maps.Arena` view, which turns a page
the program freed into an error rather than a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from libbpf_py._lowlevel import ffi, lib
from libbpf_py.btf.kinds import Datasec, Var
from libbpf_py.enums import MapType
from libbpf_py.errors import NameNotFound, NameTable, PhaseError, unknown_name_message
from libbpf_py.maps import Arena
from libbpf_py.types._codec import Codec, IntCodec
from libbpf_py.types.typed import TypeCodecs

__all__ = ["GlobalSection", "Globals", "HasGlobals", "read_sections"]


class GlobalSection:
    """The variables of one section, as attributes (and by ``section["name"]``)."""

    _names: tuple[str, ...] = ()
    _released = False

    def __init__(
        self, section: str, mem: Any, frozen: str | None, dead: Callable[[str], PhaseError]
    ) -> None:
        object.__setattr__(self, "_section", section)
        object.__setattr__(self, "_mem", mem)
        object.__setattr__(self, "_frozen", frozen)
        object.__setattr__(self, "_dead", dead)
        object.__setattr__(self, "_views", {})

    def __repr__(self) -> str:
        return f"<GlobalSection {self._section} {', '.join(self._names)}>"

    def __dir__(self) -> list[str]:
        return [*self._names, "as_dict"]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __getitem__(self, name: str) -> Any:
        if name not in self._names:
            raise NameNotFound("variable", name, self._section, self._names)
        return getattr(self, name)

    def __setitem__(self, name: str, value: Any) -> None:
        if name not in self._names:
            raise NameNotFound("variable", name, self._section, self._names)
        setattr(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._names:
            object.__setattr__(self, name, value)  # the variable's property
            return
        raise AttributeError(unknown_name_message("variable", name, self._section, self._names))

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(unknown_name_message("variable", name, self._section, self._names))

    def as_dict(self) -> dict[str, Any]:
        """Every variable's current value."""
        return {n: getattr(self, n) for n in self._names}

    def _invalidate(self) -> None:
        object.__setattr__(self, "_released", True)
        for view in self._views.values():
            view.release()
        if isinstance(self._mem, memoryview):
            self._mem.release()  # an arena's view is its map's to close

    def _closed_error(self) -> PhaseError:
        error: PhaseError = self._dead(self._section)
        return error

    def _frozen_error(self, name: str) -> PhaseError:
        return PhaseError(
            f"{self._section}.{name} cannot change: {self._frozen}", phase="loaded", needed="open"
        )


def _cast(mem: Any, fmt: str, size: int) -> Any:
    # A section's size need not be a multiple of its widest integer (five u64 and a u32
    # make 44 bytes): cast the whole items only; every variable lies inside them.
    return mem[: len(mem) - len(mem) % size].cast(fmt)


def _property(name: str, offset: int, codec: Codec) -> property:
    size = codec.size
    fmt = getattr(codec, "fmt", None)
    if type(codec) is IntCodec and fmt and offset % size == 0:
        index = offset // size

        def get_int(self: GlobalSection) -> Any:
            try:
                return self._views[fmt][index]
            except KeyError:
                pass
            except ValueError:
                raise self._closed_error() from None
            if self._released:
                raise self._closed_error()
            view = self._views[fmt] = _cast(self._mem, fmt, size)
            return view[index]

        def set_int(self: GlobalSection, value: Any) -> None:
            if self._frozen:
                raise self._frozen_error(name)
            if self._released:
                raise self._closed_error()
            try:
                view = self._views.get(fmt)
                if view is None:
                    view = self._views[fmt] = _cast(self._mem, fmt, size)
                view[index] = value
            except (ValueError, TypeError):
                if self._released:
                    raise self._closed_error() from None
                codec.encode(value)  # raises the codec's LayoutError/TypeError
                raise

        return property(get_int, set_int, doc=f"global {name} (integer of {size} bytes)")

    decode, encode = codec.decode, codec.encode
    end = offset + size

    def get(self: GlobalSection) -> Any:
        try:
            return decode(self._mem[offset:end].tobytes())
        except ValueError:
            if self._released:
                raise self._closed_error() from None
            raise

    def set_(self: GlobalSection, value: Any) -> None:
        if self._frozen:
            raise self._frozen_error(name)
        raw = encode(value)
        try:
            self._mem[offset:end] = raw
        except ValueError:
            raise self._closed_error() from None

    return property(get, set_, doc=f"global {name} ({size} bytes at offset {offset})")


def _arena_property(name: str, offset: int, codec: Codec) -> property:
    """A global in a loaded object's arena, ``offset`` bytes into the arena."""
    size, decode, encode = codec.size, codec.decode, codec.encode

    def get(self: GlobalSection) -> Any:
        if self._released:
            raise self._closed_error()
        return decode(self._mem.read(offset, size))

    def set_(self: GlobalSection, value: Any) -> None:
        raw = encode(value)
        if self._released:
            raise self._closed_error()
        self._mem.write(offset, raw)

    return property(get, set_, doc=f"arena global {name} ({size} bytes at arena offset {offset})")


def _section_class(
    section: str,
    variables: list[tuple[str, int, Codec]],
    make: Callable[[str, int, Codec], property] = _property,
) -> type:
    ns: dict[str, Any] = {
        "_names": tuple(v[0] for v in variables),
        "__slots__": (),
        "__doc__": f"The globals of {section}.",
    }
    for name, offset, codec in variables:
        ns[name] = make(name, offset, codec)
    return type(f"Section{section.replace('.', '_')}", (GlobalSection,), ns)


class Globals:
    """Every global variable of an object by name: ``obj.globals.NAME``.

    ``obj.globals.sections`` maps section names (``".bss"``, ``".data.NAME"``) to their
    :class:`GlobalSection`.
    """

    def __init__(self, sections: dict[str, GlobalSection], owner: str = "the object") -> None:
        # ``owner`` names the object in the message of a name that is not there.
        object.__setattr__(
            self, "sections", NameTable(sections.items(), kind="global section", where=owner)
        )
        object.__setattr__(self, "_object", owner)
        where: dict[str, GlobalSection] = {}
        for sec in sections.values():
            for name in sec._names:
                where.setdefault(name, sec)
        object.__setattr__(self, "_where", where)

    def __repr__(self) -> str:
        return f"<Globals {', '.join(self._where)}>"

    def __dir__(self) -> list[str]:
        return [*self._where, "sections"]

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __getattr__(self, name: str) -> Any:
        sec = self._where.get(name)
        if sec is None:
            raise AttributeError(self._missing(name))
        return getattr(sec, name)

    def __setattr__(self, name: str, value: Any) -> None:
        sec = self._where.get(name)
        if sec is None:
            raise AttributeError(self._missing(name))
        setattr(sec, name, value)

    def __getitem__(self, name: str) -> Any:
        sec = self._where.get(name)
        if sec is None:
            raise NameNotFound("global variable", name, self._object, self._where)
        return getattr(sec, name)

    def __setitem__(self, name: str, value: Any) -> None:
        sec = self._where.get(name)
        if sec is None:
            raise NameNotFound("global variable", name, self._object, self._where)
        setattr(sec, name, value)

    def __contains__(self, name: object) -> bool:
        return name in self._where

    def _missing(self, name: str) -> str:
        return unknown_name_message("global variable", name, self._object, self._where)

    def as_dict(self) -> dict[str, Any]:
        """Every variable's current value."""
        return {n: getattr(self, n) for n in self._where}

    def _invalidate(self) -> None:
        for sec in self.sections.values():
            sec._invalidate()


def _variables(types: TypeCodecs, ds: Datasec, size: int) -> list[tuple[str, int, Codec]]:
    variables: list[tuple[str, int, Codec]] = []
    seen: set[str] = set()
    for vsi in ds.vars:
        var = types.btf.type_by_id(vsi.type_id)
        if not isinstance(var, Var) or var.name in seen or not var.name.isidentifier():
            continue
        if vsi.offset + vsi.size > size:
            continue
        seen.add(var.name)
        variables.append((var.name, vsi.offset, types.codec(var.type_id, f"global {var.name!r}")))
    return variables


ARENA_SECTION = ".addr_space.1"


def _arena_section(
    obj_ptr: Any,
    types: TypeCodecs,
    loaded: bool,
    dead: Callable[[str], PhaseError],
    arena: tuple[Arena, int] | None,
) -> GlobalSection | None:
    """The ``__arena`` globals: libbpf's copy before load, the arena itself after."""
    ds = next(
        (
            t
            for t in map(types.btf.type_by_id, types.btf.ids_by_name(ARENA_SECTION))
            if isinstance(t, Datasec)
        ),
        None,
    )
    if ds is None:
        return None
    m = lib.bpf_object__next_map(obj_ptr, ffi.NULL)
    while m != ffi.NULL and lib.bpf_map__type(m) != MapType.ARENA:
        m = lib.bpf_object__next_map(obj_ptr, m)
    if m == ffi.NULL:
        return None
    size = ffi.new("size_t *")
    ptr = lib.bpf_map__initial_value(m, size)
    if ptr == ffi.NULL:
        return None
    variables = _variables(types, ds, size[0])
    section: GlobalSection
    if not loaded:
        mem = memoryview(ffi.buffer(ptr, size[0]))
        section = _section_class(ARENA_SECTION, variables)(ARENA_SECTION, mem, None, dead)
        return section
    if arena is None:
        return None  # libbpf's pointer is the arena's first page, not the globals
    view, base = arena
    placed = [(name, base + offset, codec) for name, offset, codec in variables]
    cls = _section_class(ARENA_SECTION, placed, _arena_property)
    section = cls(ARENA_SECTION, view, None, dead)
    return section


def read_sections(
    obj_ptr: Any,
    types: TypeCodecs | None,
    loaded: bool,
    dead: Callable[[str], PhaseError],
    *,
    arena: tuple[Arena, int] | None = None,
    where: str = "the object",
) -> Globals:
    """The global-data sections of a libbpf object, over libbpf's memory for each.

    ``arena`` is a loaded object's arena view and the offset of its ``__arena`` globals
    in it (see ``open_object._load_object``). ``where`` names the object in the
    message of a lookup that finds nothing (``"object xdp_filter"``).
    """
    sections: dict[str, GlobalSection] = {}
    m = lib.bpf_object__next_map(obj_ptr, ffi.NULL)
    while m != ffi.NULL:
        current, m = m, lib.bpf_object__next_map(obj_ptr, m)
        if not lib.bpf_map__is_internal(current) or types is None:
            continue
        ds = types.btf.type_by_id(lib.bpf_map__btf_value_type_id(current))
        if not isinstance(ds, Datasec) or ds.name.startswith((".kconfig", ".ksyms")):
            continue
        size = ffi.new("size_t *")
        ptr = lib.bpf_map__initial_value(current, size)
        if ptr == ffi.NULL:
            continue
        mem = memoryview(ffi.buffer(ptr, size[0]))
        frozen = None
        if loaded and lib.bpf_map__map_flags(current) & lib.BPF_F_RDONLY_PROG:
            frozen = "read-only data is frozen by load(); set it on the OpenObject before load()"
            mem = mem.toreadonly()
        variables = _variables(types, ds, size[0])
        sections[ds.name] = _section_class(ds.name, variables)(ds.name, mem, frozen, dead)
    if types is not None:
        arena_globals = _arena_section(obj_ptr, types, loaded, dead, arena)
        if arena_globals is not None:
            sections[ARENA_SECTION] = arena_globals
    return Globals(sections, where)


class HasGlobals:
    """What OpenObject and LoadedObject share: ``globals``, ``bss``, ``data``, ``rodata``."""

    _globals: Globals | None = None

    if TYPE_CHECKING:

        def _require_open(self, needed: str) -> None: ...

    def _build_globals(self) -> Globals:
        raise NotImplementedError

    @property
    def globals(self) -> Globals:
        """Every global variable by name (``obj.globals.NAME``), over all sections."""
        self._require_open("globals")
        if self._globals is None:
            self._globals = self._build_globals()
        return self._globals

    def section(self, name: str) -> GlobalSection:
        """The globals of one section, e.g. ``obj.section(".data.counters")``."""
        sections = self.globals.sections
        if name not in sections:
            raise AttributeError(
                unknown_name_message("global section", name, sections.where, sections)
            )
        section: GlobalSection = sections[name]
        return section

    @property
    def bss(self) -> GlobalSection:
        """The zero-initialised globals (``.bss``)."""
        return self.section(".bss")

    @property
    def data(self) -> GlobalSection:
        """The initialised globals (``.data``)."""
        return self.section(".data")

    @property
    def rodata(self) -> GlobalSection:
        """The constant globals (``.rodata``): settable before load, frozen after."""
        return self.section(".rodata")

    def _drop_globals(self) -> None:
        if self._globals is not None:
            self._globals._invalidate()
