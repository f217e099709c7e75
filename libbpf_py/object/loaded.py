"""Phase 4's result: an object whose maps exist and whose programs the kernel accepted."""

from __future__ import annotations

import contextlib
import errno
import os
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from libbpf_py._lowlevel import check, errno_of, ffi, lib, libbpf_error
from libbpf_py._lowlevel.handle import BpfObjectHandle, c_string
from libbpf_py._lowlevel.owner import BorrowedFd, Owner
from libbpf_py.enums import MapType
from libbpf_py.errors import NameTable, NotSupported, PhaseError
from libbpf_py.explain import narrate
from libbpf_py.link._link import Link
from libbpf_py.maps._map import Map, declared_types, libbpf_btf, make_map
from libbpf_py.mounts import check_pin_path
from libbpf_py.object.global_data import Globals, HasGlobals, read_sections
from libbpf_py.program._program import Program

if TYPE_CHECKING:
    from pathlib import Path

    from libbpf_py.inspect import ObjectSpec

__all__ = ["LoadedObject", "ObjectSource"]


class ObjectSource(Protocol):
    """What an open or loaded object keeps of the file it came from.

    :class:`~libbpf_py.ObjectFile` has this shape; it sits above the objects it opens,
    which name it by this shape rather than by importing it.
    """

    @property
    def name(self) -> str:
        """The object's name."""
        ...

    @property
    def path(self) -> Path | None:
        """Where the bytes were read from, if from a file."""
        ...

    @property
    def data(self) -> bytes:
        """The ELF bytes."""
        ...

    def inspect(self) -> ObjectSpec:
        """The pure-Python description of the object."""
        ...


class LoadedObject(HasGlobals, Owner):
    """A loaded BPF object: its :attr:`programs` are in the kernel, its :attr:`maps` exist.

    Closing it (or leaving its ``with`` block) destroys every link made from its programs
    first, then unloads the programs and frees the maps. Its programs and maps keep it
    alive, and become unusable once it is closed.
    """

    _phase_name = "loaded"

    def __init__(
        self,
        handle: BpfObjectHandle,
        source: ObjectSource,
        logs: dict[str, list[str]],
        *,
        arena_globals: int | None = None,
    ) -> None:
        self._handle = handle
        # Where libbpf put the __arena globals in the object's arena, if it has any.
        self._arena_globals = arena_globals
        self._source = source
        self._all_links: weakref.WeakSet[Link] = weakref.WeakSet()
        self._kept_links: list[Link] = []
        ptr = handle.ptr
        types = libbpf_btf(lib.bpf_object__btf(ptr))  # one codec set per object
        self._types = types
        where = f"object {handle.name}"
        programs: NameTable[Program] = NameTable(kind="program", where=where)
        prog = lib.bpf_object__next_program(ptr, ffi.NULL)
        while prog != ffi.NULL:
            program = Program._of_object(
                self, prog, logs.get(c_string(lib.bpf_program__name(prog)))
            )
            programs[program.name] = program
            prog = lib.bpf_object__next_program(ptr, prog)
        maps: NameTable[Map] = NameTable(kind="map", where=where)
        m = lib.bpf_object__next_map(ptr, ffi.NULL)
        while m != ffi.NULL:
            fd = lib.bpf_map__fd(m)
            if fd >= 0:
                name = c_string(lib.bpf_map__name(m))
                key_id = lib.bpf_map__btf_key_type_id(m)
                value_id = lib.bpf_map__btf_value_type_id(m)
                if not key_id and not value_id:
                    key_id, value_id = declared_types(types, name)
                maps[name] = make_map(
                    BorrowedFd(fd, self),
                    m,
                    name,
                    MapType.coerce(lib.bpf_map__type(m)),
                    lib.bpf_map__key_size(m),
                    lib.bpf_map__value_size(m),
                    lib.bpf_map__max_entries(m),
                    lib.bpf_map__map_flags(m),
                    types=types,
                    key_type_id=key_id,
                    value_type_id=value_id,
                )
            m = lib.bpf_object__next_map(ptr, m)
        self._programs = programs
        self._maps = maps
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"<LoadedObject {self._handle.name!r} {len(self._programs)} programs "
            f"{len(self._maps)} maps{' closed' if self._closed else ''}>"
        )

    def _require_open(self, needed: str) -> None:
        if self._closed:
            raise PhaseError(
                f"{needed} needs a loaded object, but {self._handle.name!r} is closed",
                phase="closed",
                needed="loaded",
            )

    @property
    def name(self) -> str:
        """The object's name."""
        return self._handle.name

    @property
    def programs(self) -> Mapping[str, Program]:
        """The object's programs by name; an unknown name raises
        :class:`~libbpf_py.errors.NameNotFound` (a ``KeyError``) listing those there are."""
        self._require_open("programs")
        return self._programs

    @property
    def maps(self) -> Mapping[str, Map]:
        """The object's maps by name; an unknown name raises
        :class:`~libbpf_py.errors.NameNotFound` (a ``KeyError``) listing those there are."""
        self._require_open("maps")
        return self._maps

    @property
    def links(self) -> tuple[Link, ...]:
        """The links :meth:`attach` made, which this object keeps until it closes."""
        return tuple(link for link in self._kept_links if not link.closed)

    def _track(self, link: Link) -> None:
        self._require_open("attaching")
        self._all_links.add(link)

    def attach(self) -> list[Link]:
        """Attach every program whose section names its target, like a skeleton does.

        Programs whose sections name no target (``xdp``, ``tc``, ...) or whose autoattach
        is off are skipped. Then every struct_ops map whose autoattach is on (the default;
        :attr:`OpenMap.autoattach <libbpf_py.OpenMap.autoattach>` opts out) is registered
        with its subsystem, as a skeleton's attach does. The links are kept by this object
        (see :attr:`links`).
        """
        self._require_open("attach()")
        made: list[Link] = []
        try:
            for program in self._programs.values():
                if not program.loaded or not lib.bpf_program__autoattach(program._ptr):
                    continue
                what = f"auto-attaching program {program.name!r} (section {program.section!r})"
                program._require_section_feature(what)
                ptr = lib.bpf_program__attach(program._ptr)
                err = errno_of(ptr)
                if err in (errno.EOPNOTSUPP, errno.ENOTSUP):
                    continue
                if err:
                    raise libbpf_error(err, what)
                if ptr == ffi.NULL:
                    continue
                narrate(
                    f"bpf_program__attach({program.name!r})",
                    f"link fd {lib.bpf_link__fd(ptr)}",
                    phase="attach",
                )
                made.append(
                    program._link(ptr, f"{program.name} ({program.section})", kept_by_object=True)
                )
            for m in self._maps.values():
                if m.type is MapType.STRUCT_OPS and lib.bpf_map__autoattach(m._ptr):
                    made.append(m._register_struct_ops(kept_by_object=True))
        except BaseException:
            for link in made:
                link.close()
            raise
        self._kept_links.extend(made)
        return made

    def pin_maps(self, folder: str | os.PathLike[str]) -> None:
        """Pin every map under ``folder`` (a bpffs directory) by its name."""

        self._require_open("pin_maps()")
        check_pin_path(
            os.path.join(folder, "map"),
            f"pinning the maps of {self.name!r} under {os.fspath(folder)}",
        )
        check(
            lib.bpf_object__pin_maps(self._handle.ptr, os.fsencode(folder)),
            f"pinning the maps of {self.name!r} under {folder}",
        )

    def unpin_maps(self, folder: str | os.PathLike[str]) -> None:
        """Remove the pins :meth:`pin_maps` made under ``folder``."""
        self._require_open("unpin_maps()")
        check(
            lib.bpf_object__unpin_maps(self._handle.ptr, os.fsencode(folder)),
            f"unpinning the maps of {self.name!r} under {folder}",
        )

    def _build_globals(self) -> Globals:
        def dead(section: str) -> PhaseError:
            return PhaseError(
                f"the {section} globals of {self._handle.name!r} are gone: the object is closed",
                phase="closed",
                needed="loaded",
            )

        arena = None
        if self._arena_globals is not None:
            for m in self._maps.values():
                if m.type == MapType.ARENA:
                    with contextlib.suppress(NotSupported):
                        arena = (m.arena, self._arena_globals)
                    break
        return read_sections(
            self._handle.ptr,
            self._types,
            True,
            dead,
            arena=arena,
            where=f"object {self._handle.name}",
        )

    def _release(self) -> None:
        with self._handle.lock:
            # Links first: a link must never outlive the program it attaches.
            for link in list(self._all_links):
                link.close()
            self._kept_links.clear()
            for m in self._maps.values():
                m._invalidate()
            for program in self._programs.values():
                program._invalidate()
            self._drop_globals()  # libbpf unmaps the sections on close
            self._handle.close()
