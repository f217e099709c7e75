"""Phase 3, open: libbpf has parsed the object; adjust programs and maps before loading."""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from libbpf_py._lowlevel import capture_program_logs, check, errno_of, ffi, lib, libbpf_error
from libbpf_py._lowlevel.handle import BpfObjectHandle, c_string
from libbpf_py._lowlevel.owner import OwnedFd, Owner
from libbpf_py.enums import AttachType, MapType, ProgType
from libbpf_py.errors import (
    BpfError,
    NameTable,
    NotFound,
    NotSupported,
    ObjectFormatError,
    PhaseError,
    VerifierError,
)
from libbpf_py.explain import narrate
from libbpf_py.maps import Map
from libbpf_py.object.global_data import Globals, HasGlobals, read_sections
from libbpf_py.object.loaded import LoadedObject, ObjectSource
from libbpf_py.object.shadow import StructOpsShadow, struct_ops_layout
from libbpf_py.program._flags import ProgramFlag
from libbpf_py.query import libbpf_btf

if TYPE_CHECKING:
    from libbpf_py.inspect import ObjectSpec
    from libbpf_py.program._program import Program

__all__ = ["OpenInnerMap", "OpenMap", "OpenObject", "OpenProgram", "open_object"]


def open_object(
    source: ObjectSource,
    *,
    name: str | None = None,
    pin_root_path: str | os.PathLike[str] | None = None,
    kconfig: str | None = None,
    btf_custom_path: str | os.PathLike[str] | None = None,
    relaxed_maps: bool = False,
    token_path: str | os.PathLike[str] | None = None,
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
    if token_path is not None:
        # Left NULL otherwise, so libbpf's own choice (LIBBPF_BPF_TOKEN_PATH, else a
        # token from /sys/fs/bpf when that mount delegates) stays as it was.
        opts.bpf_token_path = cstr(token_path)
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
    are spent and raise :class:`~libbpf_py.errors.PhaseError`. :meth:`prepare` may come
    first, as a step of its own: it creates the maps in the kernel but loads no program.
    """

    _phase_name = "open"

    def __init__(self, handle: BpfObjectHandle, source: ObjectSource) -> None:
        self._handle = handle
        self._source = source
        self._spent_by: str | None = None
        where = f"object {handle.name}"
        programs: NameTable[OpenProgram] = NameTable(kind="program", where=where)
        prog = lib.bpf_object__next_program(handle.ptr, ffi.NULL)
        while prog != ffi.NULL:
            program = OpenProgram(self, prog)
            programs[program._name] = program
            prog = lib.bpf_object__next_program(handle.ptr, prog)
        maps: NameTable[OpenMap] = NameTable(kind="map", where=where)
        m = lib.bpf_object__next_map(handle.ptr, ffi.NULL)
        while m != ffi.NULL:
            open_map = OpenMap(self, m)
            maps[open_map._name] = open_map
            m = lib.bpf_object__next_map(handle.ptr, m)
        self._programs = programs
        self._maps = maps
        # fds this object handed libbpf as inner-map templates (libbpf does not own
        # them): closed once load() has created the outer maps, or with the object.
        self._inner_fds: list[int] = []
        self._closed = False
        self._prepared = False

    def __repr__(self) -> str:
        state = "open" if not self._closed else self._closed_phase()
        if state == "open" and self._prepared:
            state = "prepared"
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

    def _require_unprepared(self, needed: str) -> None:
        """Refuse a change that libbpf applies in ``prepare()`` once it has run."""
        self._require_open(needed)
        if self._prepared:
            raise PhaseError(
                f"{needed} must come before prepare(): libbpf has already created the maps "
                "and relocated the programs (open the ObjectFile again to change it)",
                phase="prepared",
                needed="open",
            )

    @property
    def name(self) -> str:
        """The object's name (from the file name, or ``open(name=...)``)."""
        return self._handle.name

    @property
    def prepared(self) -> bool:
        """Whether :meth:`prepare` has run (the maps exist in the kernel)."""
        return self._prepared

    @property
    def programs(self) -> Mapping[str, OpenProgram]:
        """The object's programs by name, to adjust before load (an unknown name raises
        :class:`~libbpf_py.errors.NameNotFound`, a ``KeyError``, listing those there are)."""
        self._require_open("programs")
        return self._programs

    @property
    def maps(self) -> Mapping[str, OpenMap]:
        """The object's maps by name (including ``.data``/``.rodata``/``.bss``; an unknown
        name raises :class:`~libbpf_py.errors.NameNotFound`, a ``KeyError``)."""
        self._require_open("maps")
        return self._maps

    @property
    def spec(self) -> ObjectSpec:
        """The pure-Python description of the object (same as ``ObjectFile.inspect()``)."""
        return self._source.inspect()

    def _build_globals(self) -> Globals:

        def dead(section: str) -> PhaseError:
            if self._prepared and not self._closed:
                return PhaseError(
                    f"the {section} globals of this OpenObject were initial values, "
                    "which prepare() has written into the kernel's maps: use the "
                    "LoadedObject's globals after load()",
                    phase="prepared",
                    needed="open",
                )
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

        if self._prepared:
            # libbpf has moved the initial values into the kernel's maps (and mapped
            # .rodata read-only): views of them would write where they must not.
            raise dead("open-phase")
        types = libbpf_btf(lib.bpf_object__btf(self._handle.ptr))
        return read_sections(
            self._handle.ptr, types, False, dead, where=f"object {self._handle.name}"
        )

    def prepare(self) -> None:
        """The first half of :meth:`load` as a step of its own (``bpf_object__prepare``).

        libbpf resolves the externs (``__kconfig``, ``__ksym``), relocates the programs
        (CO-RE), loads the object's BTF and creates its maps in the kernel, but loads no
        program. Afterwards the maps, the globals and the program type, expected attach
        type and autoload can no longer change (:class:`~libbpf_py.errors.PhaseError`);
        a program's flags, ifindex, log level and attach target still can. Call
        :meth:`load` next. A failed prepare leaves this OpenObject spent, like a failed
        load.
        """
        self._require_open("prepare()")
        if self._prepared:
            raise PhaseError(
                "prepare() has run already on this OpenObject: call load() next",
                phase="prepared",
                needed="open",
            )
        handle = self._handle
        with handle.lock:
            self._apply_inner_templates()  # prepare() creates the maps, so it needs them
            with capture_program_logs() as logs:
                ret = lib.bpf_object__prepare(handle.ptr)
            self._close_inner_fds()
            # The open-phase globals point at libbpf's copies of the initial values;
            # prepare() has moved those into the kernel's maps (and mapped .rodata
            # read-only), so the views must not be used any more.
            self._prepared = True
            self._drop_globals()
            if ret < 0:
                narrate(f"bpf_object__prepare({handle.name!r})", f"error {-ret}", phase="load")
                self._spent_by = "spent by a failed prepare()"
                self._closed = True
                self._release_targets()
                handle.close()
                raise _load_error(-ret, handle.name, logs)
            narrate(
                f"bpf_object__prepare({handle.name!r})",
                "externs resolved, programs relocated, maps created; no program loaded",
                phase="load",
            )

    def _release_targets(self) -> None:
        for program in self._programs.values():
            program._drop_target()

    def load(self, log_level: int = 0) -> LoadedObject:
        """Phase 4: create the maps, relocate, verify and load every program.

        ``log_level`` > 0 asks the verifier for its log even on success (then on the
        ``libbpf_py.libbpf`` logger at DEBUG, and in ``Program.verifier_log``). On a
        rejection, raises :class:`~libbpf_py.errors.VerifierError` with the complete log.
        Either way this OpenObject is spent afterwards, except when the kernel refuses
        an inner-map template set on :attr:`OpenMap.inner_map`: that is raised before
        libbpf starts, and the settings can be fixed and load() called again.
        """

        self._require_open("load()")
        handle = self._handle
        _refuse_faulting_arena(handle.ptr, handle.name)
        with handle.lock:
            self._apply_inner_templates()
            if log_level:
                for program in self._programs.values():
                    lib.bpf_program__set_log_level(program._ptr, log_level)
            with capture_program_logs(want_debug=bool(log_level)) as logs:
                ret, arena_globals = _load_object(handle.ptr, handle.name)
            self._close_inner_fds()
            self._spent_by = "loaded" if ret == 0 else "spent by a failed load()"
            self._closed = True
            self._drop_globals()
            self._release_targets()  # libbpf needs the attach targets' fds only to load
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

    def _apply_inner_templates(self) -> None:
        """Give libbpf, as their inner-map templates, maps made from the settings
        recorded on :attr:`OpenMap.inner_map` (libbpf 1.7's own setters would crash on
        a template, which has no object). All are made before any is handed over, so
        a refusal leaves this object as it was."""
        made: list[tuple[OpenMap, int]] = []
        try:
            for open_map in self._maps.values():
                if open_map._inner_settings and open_map._inner_ptr() != ffi.NULL:
                    made.append((open_map, open_map._make_inner_template()))
        except BaseException:
            for _, fd in made:
                os.close(fd)
            raise
        for open_map, fd in made:
            self._inner_fds.append(fd)
            check(
                lib.bpf_map__set_inner_map_fd(open_map._ptr, fd),
                f"setting the inner map template of map {open_map._name!r}",
            )
            open_map._inner_settings.clear()

    def _close_inner_fds(self) -> None:
        while self._inner_fds:
            os.close(self._inner_fds.pop())

    def _release(self) -> None:
        self._drop_globals()
        self._close_inner_fds()
        self._release_targets()
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

    def _knob(self, what: str) -> Any:
        """The pointer, for a change libbpf reads in ``prepare()``: refused after it."""
        self._owner._require_unprepared(f"{type(self).__name__}.{what}")
        return self._ptr


class OpenProgram(_OpenChild):
    """A program of an :class:`OpenObject`: its type, autoload, flags, log level, target
    device and attach target can change."""

    def __init__(self, owner: OpenObject, ptr: Any) -> None:
        super().__init__(owner, ptr)
        self._name = c_string(lib.bpf_program__name(ptr))
        self._ifindex = 0  # libbpf keeps it but has no getter
        # libbpf keeps the attach target's fd number, not a duplicate: this one stays
        # open until load() has used it, whatever happens to the caller's program.
        self._target_fd: OwnedFd | None = None

    def _drop_target(self) -> None:
        if self._target_fd is not None:
            self._target_fd.close()
            self._target_fd = None

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
            lib.bpf_program__set_type(self._knob("type"), ProgType.coerce(value)),
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
                self._knob("expected_attach_type"), AttachType.coerce(value)
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
            lib.bpf_program__set_autoload(self._knob("autoload"), bool(value)),
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
    def flags(self) -> ProgramFlag:
        """The load flags (:class:`~libbpf_py.ProgramFlag`, ``BPF_F_*``): some come from
        the section (``xdp.frags``, ``.s``); set them all at once, e.g.
        ``prog.flags |= ProgramFlag.XDP_DEV_BOUND_ONLY``."""
        return ProgramFlag(int(lib.bpf_program__flags(self._live("flags"))))

    @flags.setter
    def flags(self, value: ProgramFlag | int) -> None:
        check(
            lib.bpf_program__set_flags(self._live("flags"), int(value)),
            f"setting the flags of program {self._name!r}",
        )

    @property
    def ifindex(self) -> int:
        """The network device the program is loaded for (0: none, the default).

        With :attr:`ProgramFlag.XDP_DEV_BOUND_ONLY <libbpf_py.ProgramFlag>` an XDP
        program is bound to that device (it may use the driver's metadata kfuncs, and
        attaches nowhere else); without it, the kernel offloads the program to the
        device, which only offload-capable NICs (or netdevsim) accept. Set a device name
        or an interface index of the namespace that loads the program.
        """
        self._live("ifindex")
        return self._ifindex

    @ifindex.setter
    def ifindex(self, value: int | str) -> None:
        ptr = self._live("ifindex")
        if isinstance(value, str):
            try:
                index = socket.if_nametoindex(value)
            except OSError:
                raise NotFound(
                    f"setting the device of program {self._name!r}: there is no network "
                    f"interface {value!r} in this namespace"
                ) from None
        elif isinstance(value, int) and not isinstance(value, bool):
            index = value
        else:
            raise TypeError(f"ifindex is an int or a device name, not {type(value).__name__}")
        if not 0 <= index < 2**32:
            raise ValueError(f"an ifindex is 0 .. 2**32-1, not {index}")
        lib.bpf_program__set_ifindex(ptr, index)
        self._ifindex = index

    def set_attach_target(self, target: Program | int | None, function: str | None) -> None:
        """Say what the program attaches to, before load (``bpf_program__set_attach_target``).

        - an extension (``SEC("freplace")``): ``target`` is the loaded :class:`Program`
          (or its fd) and ``function`` the name of the global function it replaces;
          ``Program.attach_freplace()`` and ``LoadedObject.attach()`` then attach there;
        - fentry/fexit over a BPF program: the same, with the function to trace;
        - fentry/fexit/LSM/tp_btf over the kernel: ``target`` is None and ``function``
          names a function of the kernel's BTF (vmlinux).

        ``function`` may be None only with a target program, whose function libbpf then
        finds from the section name. Raises ``NotFound`` (or another library error) when
        the target has no such function, ``PhaseError`` after load.
        """
        ptr = self._live("set_attach_target()")
        if target is None:
            if not function:
                raise ValueError(
                    "set_attach_target(None, function) needs the name of a kernel function"
                )
            fd, what = 0, f"kernel function {function!r}"
        elif isinstance(target, bool):
            raise TypeError("the attach target is a Program, a program fd or None, not a bool")
        elif isinstance(target, int):
            if target <= 0:
                raise ValueError(f"a target program fd is a positive number, not {target}")
            fd, what = target, f"function {function!r} of the program of fd {target}"
        else:
            fd = target.fd  # PhaseError for a closed or never loaded program
            what = f"function {function!r} of program {target.name!r}"
        if function is not None and not function:
            raise ValueError("the function name is empty")
        kept = OwnedFd(os.dup(fd)) if fd else None
        ret = lib.bpf_program__set_attach_target(
            ptr, kept.number if kept else 0, function.encode() if function else ffi.NULL
        )
        if ret < 0:
            if kept:
                kept.close()
            action = f"setting the attach target of program {self._name!r} to {what}"
            if -ret in (errno.ENOENT, errno.ESRCH):
                where = "the kernel's BTF" if target is None else "the target program's BTF"
                raise NotFound(
                    f"{action}: {where} has no function {function!r} (an extension replaces "
                    "a global, non-static function of a program loaded with BTF)",
                    errno=-ret,
                )
            raise libbpf_error(-ret, action)
        self._drop_target()
        self._target_fd = kept

    @property
    def insn_count(self) -> int:
        """How many instructions the program has (after libbpf's relocations so far)."""
        return int(lib.bpf_program__insn_cnt(self._live("insn_count")))


class OpenMap(_OpenChild):
    """A map of an :class:`OpenObject`: sizes, flags and pinning can change before load."""

    def __init__(self, owner: OpenObject, ptr: Any) -> None:
        super().__init__(owner, ptr)
        self._name = c_string(lib.bpf_map__name(ptr))
        # What OpenInnerMap's setters recorded for the inner-map template (see there).
        self._inner_settings: dict[str, int] = {}
        self._shadow: StructOpsShadow | None = None

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
        self._set(lib.bpf_map__set_type(self._knob("type"), MapType.coerce(value)), "the type")

    @property
    def key_size(self) -> int:
        """Key size in bytes."""
        return int(lib.bpf_map__key_size(self._live("key_size")))

    @key_size.setter
    def key_size(self, value: int) -> None:
        self._set(lib.bpf_map__set_key_size(self._knob("key_size"), value), "the key size")

    @property
    def value_size(self) -> int:
        """Value size in bytes."""
        return int(lib.bpf_map__value_size(self._live("value_size")))

    @value_size.setter
    def value_size(self, value: int) -> None:
        self._set(lib.bpf_map__set_value_size(self._knob("value_size"), value), "the value size")

    @property
    def max_entries(self) -> int:
        """The most entries the map can hold."""
        return int(lib.bpf_map__max_entries(self._live("max_entries")))

    @max_entries.setter
    def max_entries(self, value: int) -> None:
        self._set(lib.bpf_map__set_max_entries(self._knob("max_entries"), value), "max_entries")

    @property
    def flags(self) -> int:
        """``BPF_F_*`` map flags (e.g. ``BPF_F_NO_PREALLOC``, ``BPF_F_MMAPABLE``)."""
        return int(lib.bpf_map__map_flags(self._live("flags")))

    @flags.setter
    def flags(self, value: int) -> None:
        self._set(lib.bpf_map__set_map_flags(self._knob("flags"), value), "the flags")

    @property
    def map_extra(self) -> int:
        """The map type's extra setting: a bloom filter's number of hash functions
        (1..15; 0 means libbpf's default, 5), an arena's user-space address."""
        return int(lib.bpf_map__map_extra(self._live("map_extra")))

    @map_extra.setter
    def map_extra(self, value: int) -> None:
        self._set(lib.bpf_map__set_map_extra(self._knob("map_extra"), value), "map_extra")

    @property
    def numa_node(self) -> int:
        """The NUMA node the kernel allocates the map's memory on (with
        ``BPF_F_NUMA_NODE`` in :attr:`flags`, which setting a node adds; without it
        the kernel ignores the node). A node the machine does not have makes load()
        fail. The kernel does not report it back (``bpf_map_info`` has no such field)."""
        return int(lib.bpf_map__numa_node(self._live("numa_node")))

    @numa_node.setter
    def numa_node(self, value: int) -> None:
        ptr = self._knob("numa_node")
        self._set(lib.bpf_map__set_numa_node(ptr, value), "the NUMA node")
        flags = int(lib.bpf_map__map_flags(ptr)) | lib.BPF_F_NUMA_NODE
        self._set(lib.bpf_map__set_map_flags(ptr, flags), "the flags")

    def _inner_ptr(self) -> Any:
        """libbpf's inner-map template of this map, or NULL."""
        return lib.bpf_map__inner_map(self._ptr)

    @property
    def inner_map(self) -> OpenInnerMap | None:
        """The template of a map of maps declared with ``__array(values, struct inner)``:
        the shape every inner map must have, to change before load; None when the map
        has none (not a map of maps, or :meth:`set_inner_map` gave a map instead)."""
        if self._inner_ptr_live("inner_map") == ffi.NULL:
            return None
        return OpenInnerMap(self)

    def _inner_ptr_live(self, what: str) -> Any:
        self._live(what)
        return self._inner_ptr()

    def set_inner_map(self, template: Map) -> None:
        """Make load() use the shape of ``template`` (an open :class:`Map`: standalone
        or of another object) for this map of maps' inner maps, instead of the
        object's ``__array(values, ...)`` declaration (``bpf_map__set_inner_map_fd``).
        This object keeps its own duplicate of the fd until load()."""
        ptr = self._knob("set_inner_map()")
        what = f"setting the inner map template of map {self._name!r}"
        if not isinstance(template, Map):
            raise TypeError(f"{what}: give a Map, not {type(template).__name__}")
        kind = MapType.coerce(lib.bpf_map__type(ptr))
        if kind not in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
            raise ValueError(f"{what}: it is a {kind.name} map, not a map of maps")
        fd = os.dup(template.fd)
        ret = lib.bpf_map__set_inner_map_fd(ptr, fd)
        if ret < 0:
            os.close(fd)
            check(ret, what, hint="an inner map was already given with set_inner_map()")
        self._owner._inner_fds.append(fd)
        self._inner_settings.clear()

    def _make_inner_template(self) -> int:
        """A map with the inner template's shape and the recorded settings: its fd."""
        inner = OpenInnerMap(self)
        opts = ffi.new("struct bpf_map_create_opts *")
        opts.sz = ffi.sizeof("struct bpf_map_create_opts")
        opts.map_flags = inner.flags
        opts.map_extra = inner.map_extra
        opts.numa_node = inner.numa_node
        kind = inner.type
        fd = lib.bpf_map_create(
            kind,
            inner.name[: int(lib.BPF_OBJ_NAME_LEN) - 1].encode(),
            inner.key_size,
            inner.value_size,
            inner.max_entries,
            opts,
        )
        return check(
            fd,
            f"creating the inner map template of map {self._name!r} ({kind.name}, key "
            f"{inner.key_size} bytes, value {inner.value_size} bytes, max_entries="
            f"{inner.max_entries}, flags={inner.flags:#x})",
        )

    @property
    def pin_path(self) -> str | None:
        """Where load() pins the map (and reuses a compatible pinned one), or None."""
        path = c_string(lib.bpf_map__pin_path(self._live("pin_path")))
        return path or None

    @pin_path.setter
    def pin_path(self, value: str | os.PathLike[str] | None) -> None:
        arg = ffi.NULL if value is None else os.fsencode(value)
        self._set(lib.bpf_map__set_pin_path(self._knob("pin_path"), arg), "the pin path")

    @property
    def autocreate(self) -> bool:
        """Whether load() creates this map."""
        return bool(lib.bpf_map__autocreate(self._live("autocreate")))

    @autocreate.setter
    def autocreate(self, value: bool) -> None:
        self._set(lib.bpf_map__set_autocreate(self._knob("autocreate"), bool(value)), "autocreate")

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
            lib.bpf_map__set_initial_value(self._knob("initial_value"), data, len(data)),
            "the initial value (it must be exactly value_size bytes)",
        )

    @property
    def autoattach(self) -> bool:
        """Whether ``LoadedObject.attach()`` registers this struct_ops map (on by default;
        other maps are never auto-attached, and read False)."""
        return bool(lib.bpf_map__autoattach(self._live("autoattach")))

    @autoattach.setter
    def autoattach(self, value: bool) -> None:
        ptr = self._live("autoattach")
        if self.type is not MapType.STRUCT_OPS:
            raise NotSupported(
                f"setting autoattach of map {self._name!r}: it is a {self.type.label} map; "
                "only struct_ops maps are attached (registered) by LoadedObject.attach()"
            )
        self._set(lib.bpf_map__set_autoattach(ptr, bool(value)), "autoattach")

    @property
    def struct_ops(self) -> StructOpsShadow:
        """The struct of this struct_ops map, writable until load (see
        :class:`~libbpf_py.object.shadow.StructOpsShadow`): ``m.struct_ops.name = b"x"``.

        A map of another type raises :class:`~libbpf_py.errors.NotSupported`; after
        load, :class:`~libbpf_py.errors.PhaseError`.
        """
        ptr = self._live("struct_ops")
        if self._shadow is not None:
            return self._shadow
        what = f"the struct_ops value of map {self._name!r}"
        if self.type is not MapType.STRUCT_OPS:
            raise NotSupported(
                f"{what}: it is a {self.type.label} map; only struct_ops maps have one "
                "(initial_value holds the start of other maps)"
            )
        owner = self._owner
        types = libbpf_btf(lib.bpf_object__btf(owner._handle.ptr))
        if types is None:
            raise NotSupported(f"{what}: the object carries no BTF")
        codec, functions = struct_ops_layout(types, lib.bpf_map__btf_value_type_id(ptr), what)
        size = ffi.new("size_t *")
        data = lib.bpf_map__initial_value(ptr, size)
        if data == ffi.NULL or size[0] != codec.size:
            raise NotSupported(f"{what}: libbpf keeps no copy of it of {codec.size} bytes")

        def programs() -> dict[int, OpenProgram]:
            return {int(ffi.cast("uintptr_t", p._ptr)): p for p in owner._programs.values()}

        self._shadow = StructOpsShadow(
            self._name,
            memoryview(ffi.buffer(data, size[0])),
            codec,
            functions,
            programs,
            owner._require_open,
        )
        return self._shadow

    def reuse_pinned(self, path: str | os.PathLike[str]) -> None:
        """Make load() use the map pinned at ``path`` instead of creating this one."""
        ptr = self._knob("reuse_pinned()")
        fd = check(lib.bpf_obj_get(os.fsencode(path)), f"opening the pinned map {path}")
        try:
            self._set(lib.bpf_map__reuse_fd(ptr, fd), f"the pinned map {path} as the map")
        finally:
            os.close(fd)  # libbpf keeps its own duplicate


class OpenInnerMap:
    """The inner-map template of a map of maps (:attr:`OpenMap.inner_map`).

    Inner maps put into the outer map, by the object's ``.values`` or later from
    Python or a program, must match it (type, sizes, flags and, unless
    ``BPF_F_INNER_MAP`` is in :attr:`flags`, :attr:`max_entries`); the verifier also
    checks a program's accesses to inner maps against it.

    libbpf 1.7's own setters dereference the template's object, which a template does
    not have (a crash), so the settings are recorded here and load() creates the
    template from them and hands it to libbpf (``bpf_map__set_inner_map_fd``).
    """

    # The settings and libbpf's getters of the template's current values.
    _GETTERS: ClassVar[dict[str, str]] = {
        "type": "bpf_map__type",
        "key_size": "bpf_map__key_size",
        "value_size": "bpf_map__value_size",
        "max_entries": "bpf_map__max_entries",
        "flags": "bpf_map__map_flags",
        "map_extra": "bpf_map__map_extra",
        "numa_node": "bpf_map__numa_node",
    }

    def __init__(self, outer: OpenMap) -> None:
        self._outer = outer

    def __repr__(self) -> str:
        return f"<OpenInnerMap of {self._outer._name!r}>"

    def _get(self, field: str) -> int:
        ptr = self._outer._inner_ptr_live(f"inner_map.{field}")
        if ptr == ffi.NULL:
            raise PhaseError(
                f"map {self._outer._name!r} has no inner map template any more: "
                "set_inner_map() replaced it",
                phase="replaced",
                needed="open",
            )
        recorded = self._outer._inner_settings.get(field)
        if recorded is not None:
            return recorded
        return int(getattr(lib, self._GETTERS[field])(ptr))

    def _record(self, field: str, value: int, bits: int) -> None:
        self._get(field)  # the same template checks as reading it
        self._outer._knob(f"inner_map.{field}")  # prepare() has made the inner maps' shape
        number = int(value)
        if not 0 <= number < 1 << bits:
            raise ValueError(
                f"the inner map {field} of map {self._outer._name!r} must be in "
                f"0..{(1 << bits) - 1}, not {value!r}"
            )
        self._outer._inner_settings[field] = number

    @property
    def name(self) -> str:
        """libbpf's name of the template (``<outer>.inner``)."""
        ptr = self._outer._inner_ptr_live("inner_map.name")
        if ptr == ffi.NULL:
            self._get("type")  # raises: replaced
        return c_string(lib.bpf_map__name(ptr))

    @property
    def type(self) -> MapType:
        """The inner maps' type."""
        return MapType.coerce(self._get("type"))

    @type.setter
    def type(self, value: MapType | int | str) -> None:
        self._record("type", MapType.coerce(value), 32)

    @property
    def key_size(self) -> int:
        """The inner maps' key size in bytes."""
        return self._get("key_size")

    @key_size.setter
    def key_size(self, value: int) -> None:
        self._record("key_size", value, 32)

    @property
    def value_size(self) -> int:
        """The inner maps' value size in bytes."""
        return self._get("value_size")

    @value_size.setter
    def value_size(self, value: int) -> None:
        self._record("value_size", value, 32)

    @property
    def max_entries(self) -> int:
        """The inner maps' max_entries (they must all have it, unless ``BPF_F_INNER_MAP``
        is in :attr:`flags`)."""
        return self._get("max_entries")

    @max_entries.setter
    def max_entries(self, value: int) -> None:
        self._record("max_entries", value, 32)

    @property
    def flags(self) -> int:
        """The inner maps' ``BPF_F_*`` map flags."""
        return self._get("flags")

    @flags.setter
    def flags(self, value: int) -> None:
        self._record("flags", value, 32)

    @property
    def map_extra(self) -> int:
        """The inner maps' type extra (as :attr:`OpenMap.map_extra`)."""
        return self._get("map_extra")

    @map_extra.setter
    def map_extra(self, value: int) -> None:
        self._record("map_extra", value, 64)

    @property
    def numa_node(self) -> int:
        """The template's NUMA node (setting it adds ``BPF_F_NUMA_NODE`` to :attr:`flags`)."""
        return self._get("numa_node")

    @numa_node.setter
    def numa_node(self, value: int) -> None:
        self._record("numa_node", value, 32)
        self._record("flags", self.flags | lib.BPF_F_NUMA_NODE, 32)
