"""Phase 3, open: libbpf has parsed the object; adjust programs and maps before loading."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from libbpf_py._lowlevel import capture_program_logs, check, errno_of, ffi, lib, libbpf_error
from libbpf_py._lowlevel.handle import BpfObjectHandle, c_string
from libbpf_py._lowlevel.owner import Owner
from libbpf_py.enums import AttachType, MapType, ProgType
from libbpf_py.errors import (
    BpfError,
    NotFound,
    NotSupported,
    ObjectFormatError,
    PhaseError,
    VerifierError,
)
from libbpf_py.explain import narrate
from libbpf_py.object.global_data import Globals, HasGlobals, read_sections
from libbpf_py.object.loaded import LoadedObject, ObjectSource
from libbpf_py.query import libbpf_btf

if TYPE_CHECKING:
    from libbpf_py.inspect import ObjectSpec

__all__ = ["OpenMap", "OpenObject", "OpenProgram", "open_object"]


def open_object(
    source: ObjectSource,
    *,
    name: str | None = None,
    pin_root_path: str | os.PathLike[str] | None = None,
    kconfig: str | None = None,
    btf_custom_path: str | os.PathLike[str] | None = None,
    relaxed_maps: bool = False,
) -> OpenObject:
    """Open ``source`` with ``bpf_object__open_mem``; see :meth:`ObjectFile.open`."""
    keep: list[Any] = []  # C strings must outlive the call

    def cstr(value: str | os.PathLike[str] | None) -> Any:
        if value is None:
            return ffi.NULL
        keep.append(ffi.new("char[]", os.fsencode(value)))
        return keep[-1]

    obj_name = name or source.name
    opts = ffi.new("struct bpf_object_open_opts *")
    opts.sz = ffi.sizeof("struct bpf_object_open_opts")
    opts.object_name = cstr(obj_name)
    opts.relaxed_maps = relaxed_maps
    opts.pin_root_path = cstr(pin_root_path)
    opts.kconfig = cstr(kconfig)
    opts.btf_custom_path = cstr(btf_custom_path)
    buffer = ffi.from_buffer(source.data)
    with capture_program_logs():
        ptr = lib.bpf_object__open_mem(buffer, len(source.data), opts)
        err = errno_of(ptr)
    if err:
        narrate(f"bpf_object__open_mem({obj_name!r})", f"error {err}", phase="open")
        what = source.path or obj_name
        exc = libbpf_error(err, f"libbpf could not open {what}")
        if isinstance(exc, NotFound | ObjectFormatError) or err in (22, 4001, 4003):
            reason = exc.message.split(": ", 1)[-1]
            raise ObjectFormatError(
                f"libbpf could not open {what}: {reason} (libbpf's own "
                "messages are on the 'libbpf_py.libbpf' logger)",
                errno=err,
            ) from None
        raise exc
    handle = BpfObjectHandle(ptr, buffer, obj_name)
    try:
        _check_declared_types(ptr, source.path or obj_name)
        obj = OpenObject(handle, source)
    except BaseException:
        handle.close()
        raise
    narrate(
        f"bpf_object__open_mem({obj_name!r}, {len(source.data)} bytes)",
        f"{len(obj.programs)} programs, {len(obj.maps)} maps",
        phase="open",
    )
    return obj


def _check_declared_types(ptr: Any, what: object) -> None:
    """Refuse maps whose declared type no kernel knows: libbpf keeps the number as is,
    and every later step (load, the Python view of the map) would trip over it."""
    m = lib.bpf_object__next_map(ptr, ffi.NULL)
    while m != ffi.NULL:
        number = int(lib.bpf_map__type(m))
        if number not in MapType._value2member_map_:
            name = c_string(lib.bpf_map__name(m))
            raise ObjectFormatError(
                f"{what}: map {name!r} declares type {number}, which is no BPF map type "
                f"(the known ones are 0..{max(MapType)}); the object is damaged or was "
                "written for a newer kernel",
                section=".maps",
            )
        m = lib.bpf_object__next_map(ptr, m)


class OpenObject(HasGlobals, Owner):
    """An object libbpf has opened but not loaded (``bpf_object__open``).

    Change what is needed on :attr:`programs`, :attr:`maps` and the initial values of
    globals (:attr:`globals`, :attr:`bss`, :attr:`data`, :attr:`rodata`), then :meth:`load`.
    ``load()`` hands the object over: afterwards this handle and its programs and maps
    are spent and raise :class:`~libbpf_py.errors.PhaseError`.
    """

    _phase_name = "open"

    def __init__(self, handle: BpfObjectHandle, source: ObjectSource) -> None:
        self._handle = handle
        self._source = source
        self._spent_by: str | None = None
        programs: dict[str, OpenProgram] = {}
        prog = lib.bpf_object__next_program(handle.ptr, ffi.NULL)
        while prog != ffi.NULL:
            program = OpenProgram(self, prog)
            programs[program._name] = program
            prog = lib.bpf_object__next_program(handle.ptr, prog)
        maps: dict[str, OpenMap] = {}
        m = lib.bpf_object__next_map(handle.ptr, ffi.NULL)
        while m != ffi.NULL:
            open_map = OpenMap(self, m)
            maps[open_map._name] = open_map
            m = lib.bpf_object__next_map(handle.ptr, m)
        self._programs = programs
        self._maps = maps
        self._closed = False

    def __repr__(self) -> str:
        state = "open" if not self._closed else self._closed_phase()
        return f"<OpenObject {self._handle.name!r} {state}>"

    def _closed_phase(self) -> str:
        return "spent" if self._spent_by else "closed"

    def _require_open(self, needed: str) -> None:
        if self._closed:
            if self._spent_by:
                raise PhaseError(
                    f"{needed} needs the open phase, but this OpenObject was {self._spent_by}:"
                    " use the LoadedObject that load() returned (or open the ObjectFile again"
                    " to change settings)",
                    phase="spent",
                    needed="open",
                )
            raise PhaseError(
                f"{needed} needs the open phase, but this OpenObject is closed",
                phase="closed",
                needed="open",
            )

    @property
    def name(self) -> str:
        """The object's name (from the file name, or ``open(name=...)``)."""
        return self._handle.name

    @property
    def programs(self) -> Mapping[str, OpenProgram]:
        """The object's programs by name, to adjust before load."""
        self._require_open("programs")
        return self._programs

    @property
    def maps(self) -> Mapping[str, OpenMap]:
        """The object's maps by name (including ``.data``/``.rodata``/``.bss``)."""
        self._require_open("maps")
        return self._maps

    @property
    def spec(self) -> ObjectSpec:
        """The pure-Python description of the object (same as ``ObjectFile.inspect()``)."""
        return self._source.inspect()

    def _build_globals(self) -> Globals:

        def dead(section: str) -> PhaseError:
            if self._spent_by:
                return PhaseError(
                    f"the {section} globals of this OpenObject are spent (it "
                    f"was {self._spent_by}): use the LoadedObject's globals",
                    phase="spent",
                    needed="open",
                )
            return PhaseError(
                f"the {section} globals belong to a closed OpenObject",
                phase="closed",
                needed="open",
            )

        types = libbpf_btf(lib.bpf_object__btf(self._handle.ptr))
        return read_sections(self._handle.ptr, types, False, dead)

    def load(self, log_level: int = 0) -> LoadedObject:
        """Phase 4: create the maps, relocate, verify and load every program.

        ``log_level`` > 0 asks the verifier for its log even on success (then on the
        ``libbpf_py.libbpf`` logger at DEBUG, and in ``Program.verifier_log``). On a
        rejection, raises :class:`~libbpf_py.errors.VerifierError` with the complete log.
        Either way this OpenObject is spent afterwards.
        """

        self._require_open("load()")
        handle = self._handle
        _refuse_faulting_arena(handle.ptr, handle.name)
        with handle.lock:
            if log_level:
                for program in self._programs.values():
                    lib.bpf_program__set_log_level(program._ptr, log_level)
            with capture_program_logs(want_debug=bool(log_level)) as logs:
                ret, arena_globals = _load_object(handle.ptr, handle.name)
            self._spent_by = "loaded" if ret == 0 else "spent by a failed load()"
            self._closed = True
            self._drop_globals()
            if ret < 0:
                narrate(f"bpf_object__load({handle.name!r})", f"error {-ret}", phase="load")
                handle.close()
                raise _load_error(-ret, handle.name, logs)
            narrate(
                f"bpf_object__load({handle.name!r})",
                "maps created, programs verified and loaded",
                phase="load",
            )
            try:
                return LoadedObject(handle, self._source, logs, arena_globals=arena_globals)
            except BaseException:
                handle.close()
                raise

    def _release(self) -> None:
        self._drop_globals()
        if not self._spent_by:
            self._handle.close()


def _refuse_faulting_arena(ptr: Any, name: str) -> None:
    """Refuse, before anything happens, an arena that would kill the process at load.

    libbpf writes an object's ``__arena`` globals into its arena from user space. An
    arena made with ``BPF_F_SEGV_ON_FAULT`` has no page there yet, and the kernel
    answers that write with SIGSEGV.
    """
    m = lib.bpf_object__next_map(ptr, ffi.NULL)
    while m != ffi.NULL:
        size = ffi.new("size_t *")
        if (
            lib.bpf_map__type(m) == MapType.ARENA
            and lib.bpf_map__map_flags(m) & lib.BPF_F_SEGV_ON_FAULT
            and lib.bpf_map__initial_value(m, size) != ffi.NULL
            and size[0]
        ):
            arena = c_string(lib.bpf_map__name(m))
            raise NotSupported(
                f"loading {name!r}: arena {arena!r} is made with BPF_F_SEGV_ON_FAULT and the "
                "object has __arena globals; libbpf copies them into the arena at load, "
                "where no page exists yet, and the process would die of SIGSEGV. Drop the "
                f"flag (OpenMap.flags of {arena!r}) or the __arena globals"
            )
        m = lib.bpf_object__next_map(ptr, m)


def _load_object(ptr: Any, name: str) -> tuple[int, int | None]:
    """``bpf_object__load``; with an arena map, also where its globals went.

    libbpf copies an object's ``__arena`` globals into its arena at load, at an offset it
    keeps to itself (the arena's end, where the kernel allows it). The one public call
    that tells it is the skeleton's load, which is ``bpf_object__load`` followed by
    filling each map's address in. So an object with an arena loads through a skeleton
    of that one map; the second result is the globals' offset in the arena.
    """
    arena = lib.bpf_object__next_map(ptr, ffi.NULL)
    while arena != ffi.NULL and lib.bpf_map__type(arena) != MapType.ARENA:
        arena = lib.bpf_object__next_map(ptr, arena)
    if arena == ffi.NULL:
        return lib.bpf_object__load(ptr), None
    obj_ref = ffi.new("struct bpf_object **", ptr)
    map_ref = ffi.new("struct bpf_map **", arena)
    address = ffi.new("void **")
    maps = ffi.new("struct bpf_map_skeleton[1]")
    maps[0].name = lib.bpf_map__name(arena)
    maps[0].map = map_ref
    maps[0].mmaped = address
    c_name = ffi.new("char[]", name.encode())
    skeleton = ffi.new("struct bpf_object_skeleton *")
    skeleton.sz = ffi.sizeof("struct bpf_object_skeleton")
    skeleton.name = c_name
    skeleton.obj = obj_ref
    skeleton.map_cnt = 1
    skeleton.map_skel_sz = ffi.sizeof("struct bpf_map_skeleton")
    skeleton.maps = maps
    ret = lib.bpf_object__load_skeleton(skeleton)
    size = ffi.new("size_t *")
    start = lib.bpf_map__initial_value(arena, size)
    if ret < 0 or address[0] == ffi.NULL or start == ffi.NULL:
        return ret, None
    return ret, int(ffi.cast("uintptr_t", address[0])) - int(ffi.cast("uintptr_t", start))


def _load_error(err: int, name: str, logs: dict[str, list[str]]) -> BpfError:
    if logs:
        # libbpf stops at the first program that fails, so the last log is the culprit.
        program, log = list(logs.items())[-1]
        return VerifierError(program, log, errno=err)
    return libbpf_error(err, f"loading BPF object {name!r}")


class _OpenChild:
    """A program or map of an OpenObject: valid only while it is open."""

    def __init__(self, owner: OpenObject, ptr: Any) -> None:
        self._owner = owner
        self._ptr = ptr

    def _live(self, what: str) -> Any:
        self._owner._require_open(f"{type(self).__name__}.{what}")
        return self._ptr


class OpenProgram(_OpenChild):
    """A program of an :class:`OpenObject`: its type, autoload and log level can change."""

    def __init__(self, owner: OpenObject, ptr: Any) -> None:
        super().__init__(owner, ptr)
        self._name = c_string(lib.bpf_program__name(ptr))

    def __repr__(self) -> str:
        return f"<OpenProgram {self._name!r}>"

    @property
    def name(self) -> str:
        """The program's name (its C function name)."""
        return self._name

    @property
    def section(self) -> str:
        """The ELF section the program is in, e.g. ``"xdp"`` or ``"tracepoint/syscalls/..."``."""
        return c_string(lib.bpf_program__section_name(self._live("section")))

    @property
    def type(self) -> ProgType:
        """The program type libbpf derived from the section name."""
        return ProgType.coerce(lib.bpf_program__type(self._live("type")))

    @type.setter
    def type(self, value: ProgType | int | str) -> None:
        check(
            lib.bpf_program__set_type(self._live("type"), ProgType.coerce(value)),
            f"setting the type of program {self._name!r}",
        )

    @property
    def expected_attach_type(self) -> AttachType:
        """The attach type the program is loaded for."""
        return AttachType.coerce(
            lib.bpf_program__expected_attach_type(self._live("expected_attach_type"))
        )

    @expected_attach_type.setter
    def expected_attach_type(self, value: AttachType | int | str) -> None:
        check(
            lib.bpf_program__set_expected_attach_type(
                self._live("expected_attach_type"), AttachType.coerce(value)
            ),
            f"setting the expected attach type of program {self._name!r}",
        )

    @property
    def autoload(self) -> bool:
        """Whether ``load()`` loads this program (``SEC("?...")`` starts as False)."""
        return bool(lib.bpf_program__autoload(self._live("autoload")))

    @autoload.setter
    def autoload(self, value: bool) -> None:
        check(
            lib.bpf_program__set_autoload(self._live("autoload"), bool(value)),
            f"setting autoload of program {self._name!r}",
        )

    @property
    def autoattach(self) -> bool:
        """Whether ``LoadedObject.attach()`` attaches this program."""
        return bool(lib.bpf_program__autoattach(self._live("autoattach")))

    @autoattach.setter
    def autoattach(self, value: bool) -> None:
        lib.bpf_program__set_autoattach(self._live("autoattach"), bool(value))

    @property
    def log_level(self) -> int:
        """The verifier log level for this program (0: only on failure)."""
        return int(lib.bpf_program__log_level(self._live("log_level")))

    @log_level.setter
    def log_level(self, value: int) -> None:
        check(
            lib.bpf_program__set_log_level(self._live("log_level"), int(value)),
            f"setting the log level of program {self._name!r}",
        )

    @property
    def flags(self) -> int:
        """``BPF_F_*`` program load flags (e.g. ``BPF_F_SLEEPABLE``)."""
        return int(lib.bpf_program__flags(self._live("flags")))

    @flags.setter
    def flags(self, value: int) -> None:
        check(
            lib.bpf_program__set_flags(self._live("flags"), int(value)),
            f"setting the flags of program {self._name!r}",
        )

    @property
    def insn_count(self) -> int:
        """How many instructions the program has (after libbpf's relocations so far)."""
        return int(lib.bpf_program__insn_cnt(self._live("insn_count")))


class OpenMap(_OpenChild):
    """A map of an :class:`OpenObject`: sizes, flags and pinning can change before load."""

    def __init__(self, owner: OpenObject, ptr: Any) -> None:
        super().__init__(owner, ptr)
        self._name = c_string(lib.bpf_map__name(ptr))

    def __repr__(self) -> str:
        return f"<OpenMap {self._name!r}>"

    def _set(self, ret: int, what: str) -> None:
        check(ret, f"setting {what} of map {self._name!r}")

    @property
    def name(self) -> str:
        """The map's name (libbpf names global-data maps like ``obj.bss``)."""
        return self._name

    @property
    def type(self) -> MapType:
        """The map type."""
        return MapType.coerce(lib.bpf_map__type(self._live("type")))

    @type.setter
    def type(self, value: MapType | int | str) -> None:
        self._set(lib.bpf_map__set_type(self._live("type"), MapType.coerce(value)), "the type")

    @property
    def key_size(self) -> int:
        """Key size in bytes."""
        return int(lib.bpf_map__key_size(self._live("key_size")))

    @key_size.setter
    def key_size(self, value: int) -> None:
        self._set(lib.bpf_map__set_key_size(self._live("key_size"), value), "the key size")

    @property
    def value_size(self) -> int:
        """Value size in bytes."""
        return int(lib.bpf_map__value_size(self._live("value_size")))

    @value_size.setter
    def value_size(self, value: int) -> None:
        self._set(lib.bpf_map__set_value_size(self._live("value_size"), value), "the value size")

    @property
    def max_entries(self) -> int:
        """The most entries the map can hold."""
        return int(lib.bpf_map__max_entries(self._live("max_entries")))

    @max_entries.setter
    def max_entries(self, value: int) -> None:
        self._set(lib.bpf_map__set_max_entries(self._live("max_entries"), value), "max_entries")

    @property
    def flags(self) -> int:
        """``BPF_F_*`` map flags (e.g. ``BPF_F_NO_PREALLOC``, ``BPF_F_MMAPABLE``)."""
        return int(lib.bpf_map__map_flags(self._live("flags")))

    @flags.setter
    def flags(self, value: int) -> None:
        self._set(lib.bpf_map__set_map_flags(self._live("flags"), value), "the flags")

    @property
    def pin_path(self) -> str | None:
        """Where load() pins the map (and reuses a compatible pinned one), or None."""
        path = c_string(lib.bpf_map__pin_path(self._live("pin_path")))
        return path or None

    @pin_path.setter
    def pin_path(self, value: str | os.PathLike[str] | None) -> None:
        arg = ffi.NULL if value is None else os.fsencode(value)
        self._set(lib.bpf_map__set_pin_path(self._live("pin_path"), arg), "the pin path")

    @property
    def autocreate(self) -> bool:
        """Whether load() creates this map."""
        return bool(lib.bpf_map__autocreate(self._live("autocreate")))

    @autocreate.setter
    def autocreate(self, value: bool) -> None:
        self._set(lib.bpf_map__set_autocreate(self._live("autocreate"), bool(value)), "autocreate")

    @property
    def initial_value(self) -> bytes | None:
        """The bytes a global-data map starts with (``.data``/``.rodata``/``.bss``)."""
        size = ffi.new("size_t *")
        ptr = lib.bpf_map__initial_value(self._live("initial_value"), size)
        if ptr == ffi.NULL:
            return None
        return bytes(ffi.buffer(ptr, size[0]))

    @initial_value.setter
    def initial_value(self, value: bytes) -> None:
        data = bytes(value)
        self._set(
            lib.bpf_map__set_initial_value(self._live("initial_value"), data, len(data)),
            "the initial value (it must be exactly value_size bytes)",
        )

    def reuse_pinned(self, path: str | os.PathLike[str]) -> None:
        """Make load() use the map pinned at ``path`` instead of creating this one."""
        ptr = self._live("reuse_pinned()")
        fd = check(lib.bpf_obj_get(os.fsencode(path)), f"opening the pinned map {path}")
        try:
            self._set(lib.bpf_map__reuse_fd(ptr, fd), f"the pinned map {path} as the map")
        finally:
            os.close(fd)  # libbpf keeps its own duplicate
