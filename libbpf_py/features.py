"""Feature probes: ask the running kernel what it supports, and why not when it does not.

Each probe really tries the thing (loads a two-instruction program, creates a map,
opens a perf event, creates a link where doing so has no effect on the system) and
reports the kernel's answer. Tests use :func:`check` to skip with the probed reason::

    reason = libbpf_py.features.check("attach:kprobe")
    if reason:
        pytest.skip(reason)

Feature names:

- ``prog_type:<name>`` (``prog_type:xdp``), ``map_type:<name>`` (``map_type:arena``)
- ``helper:<prog_type>:<helper>`` (``helper:xdp:bpf_redirect_map``)
- ``attach:<kind>``: one of :data:`ATTACH_KINDS`
  (``attach:perf_event_cookie``, ``attach:raw_tracepoint_cookie`` and
  ``attach:trace_cookie`` say whether those attachments can carry a BPF cookie;
  ``attach:struct_ops_link`` whether struct_ops maps register through a BPF link,
  Linux 6.4+)
- ``iter:<target>`` (``iter:task``, ``iter:bpf_map_elem``): whether the kernel loads an
  iterator program for that target; kernels differ per target, and a policy (lockdown)
  may refuse some targets while allowing others
- ``command:<name>``: one of :data:`COMMANDS`, a ``bpf()`` command newer than the
  oldest kernels (``command:prog_stream_read``: BPF streams, Linux 6.17;
  ``command:token_create``: BPF tokens, Linux 6.9;
  ``command:map_elem_cpu``: one CPU's value of a per-CPU map, ``BPF_F_CPU``, Linux 7.0)
- ``kconfig:CONFIG_X`` (needs a readable kernel config)

Results are cached for the life of the process; :func:`clear_cache` forgets them.

Inside :func:`libbpf_py.token.use_token` the probes load their programs and make their
maps through that BPF token, and their results are cached for that token apart.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from libbpf_py.enums import AttachType, MapType, ProgType

if TYPE_CHECKING:
    from libbpf_py.token import Token

# Maps import this module, and ``import libbpf_py`` has an import-time budget
# (tests/test_import_time.py): gzip is imported by the one function that reads a
# compressed file, and paths are os.path strings (pathlib would pull in urllib and
# ipaddress).

__all__ = [
    "ATTACH_KINDS",
    "COMMANDS",
    "cgroup2_mount",
    "check",
    "clear_cache",
    "has_attach",
    "has_helper",
    "has_kconfig",
    "has_map_type",
    "has_prog_type",
    "kconfig",
    "require",
]

_TRACEFS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
_PMU = "/sys/bus/event_source/devices"
# Kernel functions present in every build this library targets; probes attach to them.
_PROBE_FUNC = "vfs_read"
_FENTRY_TARGET = "bpf_fentry_test1"
_FMOD_RET_TARGET = "bpf_modify_return_test"
_LSM_HOOK = "file_open"  # libbpf adds the bpf_lsm_ prefix
_NO_SUCH_IFINDEX = 0x7FFFFFF0  # asked on purpose: ENODEV proves the kind exists
# The kernel's own ENOTSUPP (include/linux/errno.h): no userspace header defines it.
_ENOTSUPP = 524


def check(feature: str) -> str | None:
    """Return ``None`` if this kernel has ``feature``, else the probed reason it lacks it.

    Raises ``ValueError`` for a feature name this module does not know (a typo is not
    a missing kernel feature).
    """
    kind, _, rest = feature.partition(":")
    if not rest:
        raise ValueError(
            f"feature {feature!r} has no ':'; use e.g. 'prog_type:xdp', "
            "'map_type:hash', 'helper:xdp:bpf_redirect', 'attach:kprobe', "
            "'kconfig:CONFIG_BPF'"
        )
    if kind == "prog_type":
        return _prog_type(ProgType.coerce(rest))
    if kind == "map_type":
        return _map_type(MapType.coerce(rest))
    if kind == "helper":
        prog, _, helper = rest.partition(":")
        return _helper(ProgType.coerce(prog), helper)
    if kind == "attach":
        probe = _ATTACH_PROBES.get(rest.lower())
        if probe is None:
            raise ValueError(f"unknown attach kind {rest!r}; one of: {', '.join(ATTACH_KINDS)}")
        return _cached_attach(rest.lower())
    if kind == "kconfig":
        return _kconfig_reason(rest)
    if kind == "iter":
        return _iter_target(rest)
    if kind == "command":
        if rest.lower() not in _COMMAND_PROBES:
            raise ValueError(f"unknown bpf() command {rest!r}; one of: {', '.join(COMMANDS)}")
        return _cached_command(rest.lower())
    raise ValueError(
        f"unknown feature kind {kind!r} in {feature!r}; one of: prog_type, "
        "map_type, helper, attach, iter, command, kconfig"
    )


def require(feature: str) -> None:
    """Raise :class:`~libbpf_py.errors.NotSupported` with the probed reason if missing."""
    from libbpf_py.errors import NotSupported

    reason = check(feature)
    if reason is not None:
        raise NotSupported(f"{feature}: {reason}")


def has_prog_type(prog_type: ProgType | int | str) -> bool:
    """Whether the kernel loads programs of ``prog_type``."""
    return _prog_type(ProgType.coerce(prog_type)) is None


def has_map_type(map_type: MapType | int | str) -> bool:
    """Whether the kernel creates maps of ``map_type``."""
    return _map_type(MapType.coerce(map_type)) is None


def has_helper(prog_type: ProgType | int | str, helper: str) -> bool:
    """Whether programs of ``prog_type`` may call ``helper`` (``"bpf_redirect"``)."""
    return _helper(ProgType.coerce(prog_type), helper) is None


def has_attach(kind: str) -> bool:
    """Whether attach kind ``kind`` (one of :data:`ATTACH_KINDS`) works on this kernel."""
    return check(f"attach:{kind}") is None


def has_kconfig(option: str) -> bool:
    """Whether the kernel was built with ``option`` (``"CONFIG_KPROBES"``) as y or m."""
    return _kconfig_reason(option) is None


def clear_cache() -> None:
    """Forget every probe result (e.g. after loading a kernel module)."""
    for fn in (
        _prog_type,
        _map_type,
        _helper,
        _cached_attach,
        _iter_target,
        _cached_command,
        kconfig,
    ):
        fn.cache_clear()


# --- program and map types, helpers ------------------------------------------------


def _active_token() -> Token | None:
    # Imported here: the token module needs the compiled module, this one does not.
    from libbpf_py.token import active_token

    return active_token()


class _PerToken:
    """A probe's cache, keyed on its arguments and on the token
    :func:`~libbpf_py.token.use_token` set: the same probe through a token (or without
    one) may get another answer."""

    def __init__(self, fn: Callable[..., str | None]) -> None:
        self._fn = fn
        # The token itself is in the key (not its fd number, which a later token may
        # reuse), which keeps a closed token's answers from being found again.
        self._cache: dict[tuple[Token | None, tuple[Any, ...]], str | None] = {}
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any) -> str | None:
        key = (_active_token(), args)
        if key not in self._cache:
            self._cache[key] = self._fn(*args)
        return self._cache[key]

    def cache_clear(self) -> None:
        """Forget every answer."""
        self._cache.clear()


def _token_fd() -> int:
    """The fd of the token the probes run through, or 0 for none."""
    token = _active_token()
    return token.fd if token is not None else 0


def _lib() -> tuple[Any, Any]:
    from libbpf_py._lowlevel import ffi, lib

    return ffi, lib


def _strerror(err: int) -> str:
    return "ENOTSUPP" if err == 524 else f"{errno.errorcode.get(err, err)} ({os.strerror(err)})"


def _refusal(err: int) -> str:
    """Explain an errno from a probe load, telling EPERM-with-capabilities apart."""
    from libbpf_py.errors import in_user_namespace, missing_capability_hint

    if err in (errno.EPERM, errno.EACCES):
        text = f"the kernel answered {_strerror(err)}; {missing_capability_hint()}"
        # In a user namespace the missing token explains the refusal, not lockdown.
        lockdown = "" if in_user_namespace() else _lockdown()
        return text + (f" [{lockdown}]" if lockdown else "")
    return f"the kernel answered {_strerror(err)}"


def _lockdown() -> str:
    try:
        return "lockdown: " + _read_text("/sys/kernel/security/lockdown").strip()
    except OSError:
        pass
    for mode in ("INTEGRITY", "CONFIDENTIALITY"):
        if kconfig().get(f"CONFIG_LOCK_DOWN_KERNEL_FORCE_{mode}") == "y":
            return f"the kernel config forces lockdown: CONFIG_LOCK_DOWN_KERNEL_FORCE_{mode}=y"
    return ""


def _btf_id(name: str, attach_type: AttachType) -> int:
    _, lib = _lib()
    return int(lib.libbpf_find_vmlinux_btf_id(name.encode(), attach_type))


def _load_min(
    prog_type: ProgType,
    attach: AttachType | int = 0,
    btf_id: int = 0,
    retval: int = 0,
    attach_prog_fd: int = 0,
) -> int:
    """Load ``r0 = retval; exit`` (through the token in use); return its fd or -errno."""
    _, lib = _lib()
    token = _token_fd()
    if token:
        return int(
            lib.lpy_token_prog_load_min(token, prog_type, attach, btf_id, attach_prog_fd, retval)
        )
    return int(lib.lpy_prog_load_min(prog_type, attach, btf_id, attach_prog_fd, retval))


# What program types load only with an expected attach type: libbpf's probe knows, but
# takes no token; the token probes name one.
_EXPECTED_ATTACH: dict[ProgType, AttachType] = {
    ProgType.CGROUP_SOCK_ADDR: AttachType.CGROUP_INET4_CONNECT,
    ProgType.CGROUP_SOCKOPT: AttachType.CGROUP_GETSOCKOPT,
    ProgType.SK_LOOKUP: AttachType.SK_LOOKUP,
    ProgType.NETFILTER: AttachType.NETFILTER,
}


def _map_create(
    map_type: MapType | int, key_size: int, value_size: int, max_entries: int, flags: int = 0
) -> int:
    """``bpf_map_create`` through the token in use; the fd or -errno."""
    ffi, lib = _lib()
    token = _token_fd()
    if not token and not flags:
        return int(
            lib.bpf_map_create(map_type, ffi.NULL, key_size, value_size, max_entries, ffi.NULL)
        )
    opts = ffi.new("struct bpf_map_create_opts *")
    opts.sz = ffi.sizeof("struct bpf_map_create_opts")
    opts.map_flags = flags | (lib.BPF_F_TOKEN_FD if token else 0)
    opts.token_fd = token
    return int(lib.bpf_map_create(map_type, ffi.NULL, key_size, value_size, max_entries, opts))


# Program types whose loads need an attach target: the probe names one.
_TARGETS: dict[ProgType, tuple[str, AttachType]] = {
    ProgType.TRACING: (_FENTRY_TARGET, AttachType.TRACE_FENTRY),
    ProgType.LSM: (_LSM_HOOK, AttachType.LSM_MAC),
}


@_PerToken
def _prog_type(prog_type: ProgType) -> str | None:
    ffi, lib = _lib()
    if not _token_fd() and lib.libbpf_probe_bpf_prog_type(prog_type, ffi.NULL) == 1:
        return None
    # libbpf only says yes or no; load a program ourselves to learn the kernel's errno.
    attach: AttachType | int = 0
    btf_id = 0
    if prog_type in _TARGETS:
        name, attach = _TARGETS[prog_type]
        btf_id = _btf_id(name, attach)
        if btf_id < 0:
            return (
                f"{prog_type.label} programs: the kernel's BTF has no {name} to attach "
                f"to ({_strerror(-btf_id)})"
            )
    elif _token_fd():
        attach = _EXPECTED_ATTACH.get(prog_type, 0)
    fd = _load_min(prog_type, attach, btf_id)
    if fd >= 0:
        os.close(fd)
        return None
    return f"the kernel does not load {prog_type.label} programs: {_refusal(-fd)}"


@_PerToken
def _map_type(map_type: MapType) -> str | None:
    if map_type == MapType.STRUCT_OPS:
        return _struct_ops_map(0, "the kernel does not create struct_ops maps")
    ffi, lib = _lib()
    if _token_fd() and map_type in _TOKEN_MAP_SHAPES:
        fd = _map_create(map_type, *_TOKEN_MAP_SHAPES[map_type])
        if fd >= 0:
            os.close(fd)
            return None
        return f"the kernel does not create {map_type.label} maps: {_refusal(-fd)}"
    ret = lib.libbpf_probe_bpf_map_type(map_type, ffi.NULL)
    if ret == 1:
        return None
    detail = f" ({_strerror(-ret)})" if ret < 0 else ""
    return f"the kernel does not create {map_type.label} maps (libbpf's probe){detail}"


# Key size, value size, max_entries and flags of a map each type accepts, for the probes
# through a token (libbpf's own map probe takes none). Types that need BTF or another
# map to exist (local storages, struct_ops, map-in-map) are left to libbpf's probe.
_TOKEN_MAP_SHAPES: dict[MapType, tuple[int, int, int, int]] = {
    **{
        t: (4, 4, 1, 0)
        for t in (
            MapType.HASH,
            MapType.ARRAY,
            MapType.PROG_ARRAY,
            MapType.PERF_EVENT_ARRAY,
            MapType.PERCPU_HASH,
            MapType.PERCPU_ARRAY,
            MapType.LRU_HASH,
            MapType.LRU_PERCPU_HASH,
            MapType.CGROUP_ARRAY,
            MapType.DEVMAP,
            MapType.DEVMAP_HASH,
            MapType.CPUMAP,
            MapType.XSKMAP,
            MapType.SOCKMAP,
            MapType.SOCKHASH,
            MapType.REUSEPORT_SOCKARRAY,
        )
    },
    MapType.STACK_TRACE: (4, 8, 1, 0),
    MapType.LPM_TRIE: (8, 8, 1, 1),  # BPF_F_NO_PREALLOC: the kernel insists
    MapType.QUEUE: (0, 4, 1, 0),
    MapType.STACK: (0, 4, 1, 0),
    MapType.BLOOM_FILTER: (0, 4, 1, 0),
    MapType.RINGBUF: (0, 0, os.sysconf("SC_PAGE_SIZE"), 0),
    MapType.USER_RINGBUF: (0, 0, os.sysconf("SC_PAGE_SIZE"), 0),
}


@_PerToken
def _helper(prog_type: ProgType, helper: str) -> str | None:
    from libbpf_py.inspect.helpers import HELPERS

    by_name = {name: hid for hid, name in HELPERS.items()}
    name = helper if helper.startswith("bpf_") else f"bpf_{helper}"
    if name not in by_name:
        raise ValueError(f"unknown BPF helper {helper!r} (see libbpf_py.inspect.helpers)")
    reason = _prog_type(prog_type)
    if reason:
        return reason
    ffi, lib = _lib()
    token = _token_fd()
    if token:
        ret = lib.lpy_token_probe_helper(
            token, prog_type, _EXPECTED_ATTACH.get(prog_type, 0), by_name[name]
        )
    else:
        ret = lib.libbpf_probe_bpf_helper(prog_type, by_name[name], ffi.NULL)
    if ret == 1:
        return None
    detail = f" ({_strerror(-ret)})" if ret < 0 else ""
    return f"the kernel does not allow helper {name} in {prog_type.label} programs{detail}"


# --- kernel config -----------------------------------------------------------------


@functools.cache
def kconfig() -> dict[str, str]:
    """The running kernel's build config (``CONFIG_X`` → ``y``/``m``/value), if readable.

    Read from ``/proc/config.gz``, ``/boot/config-<release>`` or (newer Debian packages)
    ``/lib/modules/<release>/config``; empty when none is readable.
    """
    import gzip

    text = ""
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            text = f.read()
    except OSError:
        release = os.uname().release
        for path in (f"/boot/config-{release}", f"/lib/modules/{release}/config"):
            try:
                text = _read_text(path)
                break
            except OSError:
                continue
        else:
            return {}
    config: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            key, _, value = line.partition("=")
            config[key] = value.strip('"')
    return config


def _kconfig_reason(option: str) -> str | None:
    option = option if option.startswith("CONFIG_") else f"CONFIG_{option}"
    config = kconfig()
    if not config:
        return (
            f"cannot tell whether {option} is set: the kernel config is not readable "
            f"(no /proc/config.gz, /boot/config-{os.uname().release} or "
            f"/lib/modules/{os.uname().release}/config)"
        )
    value = config.get(option)
    if value in ("y", "m"):
        return None
    return f"{option} is not set in this kernel's config"


def _kconfig_note(*options: str) -> str:
    unset = [o for o in options if kconfig() and o not in kconfig()]
    return f" ({', '.join(unset)} not set in the kernel config)" if unset else ""


# --- attach kinds ------------------------------------------------------------------


def _read_text(path: str) -> str:
    with open(path) as f:
        return f.read()


def _tracefs() -> str | None:
    for path in _TRACEFS:
        if os.path.isdir(os.path.join(path, "events")):
            return path
    return None


def cgroup2_mount() -> str | None:
    """Where the cgroup v2 hierarchy is mounted, or None."""
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 2 and fields[2] == "cgroup2":
                    return fields[1]
    except OSError:
        pass
    return None


def _close(fd: int) -> None:
    if fd >= 0:
        os.close(fd)


def _with_prog(
    prog_type: ProgType,
    attach: AttachType | int,
    try_attach: Callable[[int], int],
    *,
    target: str = "",
    retval: int = 0,
    what: str,
) -> str | None:
    """Load a minimal program and hand its fd to ``try_attach`` (returns fd or -errno)."""
    btf_id = 0
    if target:
        btf_id = _btf_id(target, AttachType(attach))
        if btf_id < 0:
            return f"{what}: the kernel's BTF has no {target} ({_strerror(-btf_id)})"
    prog = _load_min(prog_type, attach, btf_id, retval)
    if prog < 0:
        return f"{what}: loading a {prog_type.label} program failed: {_refusal(-prog)}"
    try:
        link = try_attach(prog)
    finally:
        os.close(prog)
    if link >= 0:
        os.close(link)
        return None
    return f"{what}: attaching failed: {_refusal(-link)}"


def _pmu_type(name: str) -> int | None:
    try:
        return int(_read_text(os.path.join(_PMU, name, "type")))
    except (OSError, ValueError):
        return None


def _probe_kprobe() -> str | None:
    ffi, lib = _lib()
    pmu = _pmu_type("kprobe")
    tracefs = _tracefs()
    legacy = tracefs is not None and os.path.exists(os.path.join(tracefs, "kprobe_events"))
    if pmu is None and not legacy:
        return (
            "this kernel has no kprobes: no kprobe PMU in /sys/bus/event_source/devices "
            "and no kprobe_events in tracefs"
            + _kconfig_note("CONFIG_KPROBES", "CONFIG_KPROBE_EVENTS")
        )
    if pmu is not None:
        name = ffi.new("char[]", _PROBE_FUNC.encode())
        fd = int(lib.lpy_perf_event_open(pmu, 0, int(ffi.cast("uintptr_t", name)), 0, 1, 0, -1, 0))
        if fd < 0:
            return f"opening a kprobe on {_PROBE_FUNC} failed: {_refusal(-fd)}"
        os.close(fd)
    return _prog_type(ProgType.KPROBE)


def _probe_kprobe_multi() -> str | None:
    ffi, lib = _lib()

    def attach(prog: int) -> int:
        name = ffi.new("char[]", _PROBE_FUNC.encode())
        syms = ffi.new("const char *[]", [name])
        return int(lib.lpy_link_create_kprobe_multi(prog, syms, 1, 0))

    reason = _with_prog(
        ProgType.KPROBE, AttachType.TRACE_KPROBE_MULTI, attach, what="kprobe_multi (Linux 5.18+)"
    )
    return reason + _kconfig_note("CONFIG_FPROBE", "CONFIG_KPROBES") if reason else None


def _entry_offset(path: str) -> int:
    """The file offset of an ELF executable's entry point (where uprobe probes attach)."""
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as f:
        elf = ELFFile(f)
        entry = elf.header.e_entry
        for seg in elf.iter_segments():
            if (
                seg["p_type"] == "PT_LOAD"
                and seg["p_vaddr"] <= entry < seg["p_vaddr"] + seg["p_filesz"]
            ):
                return int(entry - seg["p_vaddr"] + seg["p_offset"])
    raise ValueError(f"{path}: entry point outside every loadable segment")


def _probe_uprobe() -> str | None:
    ffi, lib = _lib()
    pmu = _pmu_type("uprobe")
    tracefs = _tracefs()
    legacy = tracefs is not None and os.path.exists(os.path.join(tracefs, "uprobe_events"))
    if pmu is None and not legacy:
        return (
            "this kernel has no uprobes: no uprobe PMU in /sys/bus/event_source/devices "
            "and no uprobe_events in tracefs" + _kconfig_note("CONFIG_UPROBE_EVENTS")
        )
    if pmu is not None:
        exe = os.path.realpath(sys.executable)
        path = ffi.new("char[]", os.fsencode(exe))
        # An uprobe on this process's entry point, which never runs again; never enabled.
        fd = int(
            lib.lpy_perf_event_open(
                pmu, 0, int(ffi.cast("uintptr_t", path)), _entry_offset(exe), 1, 0, os.getpid(), -1
            )
        )
        if fd < 0:
            return f"opening a uprobe on {exe} failed: {_refusal(-fd)}"
        os.close(fd)
    return _prog_type(ProgType.KPROBE)


def _probe_uprobe_multi() -> str | None:
    ffi, lib = _lib()
    exe = os.path.realpath(sys.executable)

    def attach(prog: int) -> int:
        offsets = ffi.new("unsigned long[]", [_entry_offset(exe)])
        return int(
            lib.lpy_link_create_uprobe_multi(prog, os.fsencode(exe), offsets, 1, 0, os.getpid())
        )

    return _with_prog(
        ProgType.KPROBE, AttachType.TRACE_UPROBE_MULTI, attach, what="uprobe_multi (Linux 6.6+)"
    )


def _probe_tracepoint() -> str | None:
    _, lib = _lib()
    tracefs = _tracefs()
    if tracefs is None:
        return "tracefs is not mounted (libbpf_py.mounts.ensure_tracefs() mounts it)"
    try:
        tp_id = int(_read_text(os.path.join(tracefs, "events/syscalls/sys_enter_getpid/id")))
    except (OSError, ValueError):
        return f"tracepoint syscalls/sys_enter_getpid is not in {tracefs}/events" + _kconfig_note(
            "CONFIG_FTRACE_SYSCALLS"
        )
    fd = int(lib.lpy_perf_event_open(lib.PERF_TYPE_TRACEPOINT, tp_id, 0, 0, 1, 0, -1, 0))
    if fd < 0:
        return f"opening tracepoint syscalls/sys_enter_getpid failed: {_refusal(-fd)}"
    os.close(fd)
    return _prog_type(ProgType.TRACEPOINT)


def _probe_raw_tracepoint() -> str | None:
    _, lib = _lib()
    return _with_prog(
        ProgType.RAW_TRACEPOINT,
        0,
        lambda prog: int(lib.bpf_raw_tracepoint_open(b"sys_enter", prog)),
        what="raw_tracepoint",
    )


def _probe_raw_tracepoint_cookie() -> str | None:
    ffi, lib = _lib()

    def attach(prog: int) -> int:
        opts = ffi.new("struct bpf_raw_tp_opts *")
        opts.sz = ffi.sizeof("struct bpf_raw_tp_opts")
        name = ffi.new("char[]", b"sys_enter")
        opts.tp_name = name
        opts.cookie = 1
        return int(lib.bpf_raw_tracepoint_open_opts(prog, opts))

    reason = check("attach:raw_tracepoint")
    if reason:
        return reason
    return _with_prog(
        ProgType.RAW_TRACEPOINT, 0, attach, what="BPF cookies on raw tracepoints (Linux 6.10+)"
    )


def _probe_perf_event_cookie() -> str | None:
    # kprobes, uprobes, tracepoints and perf events all carry a cookie through a BPF
    # perf link (Linux 5.15+); without one, libbpf attaches by ioctl, which has no cookie.
    _, lib = _lib()
    reason = check("attach:perf_event")
    if reason:
        return reason
    pfd = int(
        lib.lpy_perf_event_open(
            lib.PERF_TYPE_SOFTWARE, lib.PERF_COUNT_SW_CPU_CLOCK, 0, 0, 1000, 1, 0, -1
        )
    )
    if pfd < 0:
        return f"opening a cpu-clock perf event failed: {_refusal(-pfd)}"
    try:
        return _with_prog(
            ProgType.PERF_EVENT,
            0,
            lambda prog: int(lib.lpy_link_create_cookie(prog, pfd, AttachType.PERF_EVENT, 1)),
            what="BPF cookies on perf-event links: kprobes, uprobes, tracepoints, perf "
            "events (Linux 5.15+)",
        )
    finally:
        os.close(pfd)


def _probe_trace_cookie() -> str | None:
    _, lib = _lib()
    attach = AttachType.TRACE_FENTRY
    return _with_prog(
        ProgType.TRACING,
        attach,
        lambda prog: int(lib.lpy_link_create_cookie(prog, 0, attach, 1)),
        target=_FENTRY_TARGET,
        what="BPF cookies on fentry/fexit/fmod_ret/lsm links (Linux 6.0+)",
    )


def _tracing(attach: AttachType, target: str, what: str) -> Callable[[], str | None]:
    def probe() -> str | None:
        ffi, lib = _lib()
        prog_type = ProgType.LSM if attach is AttachType.LSM_MAC else ProgType.TRACING
        return _with_prog(
            prog_type,
            attach,
            lambda prog: int(lib.bpf_link_create(prog, 0, attach, ffi.NULL)),
            target=target,
            what=what,
        )

    return probe


def _probe_iter() -> str | None:
    return _iter_target("bpf_map")


@_PerToken
def _iter_target(target: str) -> str | None:
    """Load an iterator program for ``target``; attach it where it needs no parameter."""
    ffi, lib = _lib()
    what = f"iterators over {target}"
    btf_id = _btf_id(target, AttachType.TRACE_ITER)
    if btf_id < 0:
        return f"{what}: the kernel's BTF has no bpf_iter_{target} ({_strerror(-btf_id)})"
    prog = _load_min(ProgType.TRACING, AttachType.TRACE_ITER, btf_id)
    if prog < 0:
        return f"{what}: loading an iterator program failed: {_refusal(-prog)}"
    try:
        link = int(lib.bpf_link_create(prog, 0, AttachType.TRACE_ITER, ffi.NULL))
    finally:
        os.close(prog)
    # Targets that iterate one map, cgroup or socket map need it as a link parameter and
    # answer EINVAL without one (6.1: EBADF, taking the missing fd for 0): loading was
    # the test for those.
    if link >= 0 or link in (-errno.EINVAL, -errno.EBADF):
        _close(link)
        return None
    return f"{what}: attaching failed: {_refusal(-link)}"


def _probe_freplace() -> str | None:
    # An extension needs a target program with BTF; without one the kernel answers
    # EINVAL when it supports extensions at all, and refuses (EPERM) when it does not.
    fd = _load_min(ProgType.EXT, 0, 1)
    if fd >= 0:
        os.close(fd)
        return None
    if fd == -errno.EINVAL:
        return None
    return f"freplace (extension programs): loading one failed: {_refusal(-fd)}"


def _probe_xdp_dev_bound() -> str | None:
    _, lib = _lib()
    # For the loopback device, which every namespace has (ifindex 1). A kernel that
    # knows the flag answers EOPNOTSUPP there (lo has no XDP driver hook); one that
    # does not know it refuses the flag itself with EINVAL.
    fd = int(lib.lpy_prog_load_for_device(ProgType.XDP, lib.BPF_F_XDP_DEV_BOUND_ONLY, 1, 2))
    if fd >= 0:
        os.close(fd)
        return None
    if fd == -errno.EOPNOTSUPP:
        return None
    return f"device-bound XDP programs (Linux 6.3+): loading one failed: {_refusal(-fd)}"


def _probe_perf_event() -> str | None:
    _, lib = _lib()
    fd = int(
        lib.lpy_perf_event_open(
            lib.PERF_TYPE_SOFTWARE, lib.PERF_COUNT_SW_CPU_CLOCK, 0, 0, 1000, 1, 0, -1
        )
    )
    if fd < 0:
        return f"opening a cpu-clock perf event failed: {_refusal(-fd)}"
    os.close(fd)
    return _prog_type(ProgType.PERF_EVENT)


def _probe_perf_event_hardware() -> str | None:
    # A CPU cycle counter, the one hardware event every PMU has; a machine without a
    # PMU (most virtual machines) answers ENOENT: no PMU takes PERF_TYPE_HARDWARE.
    _, lib = _lib()
    fd = int(
        lib.lpy_perf_event_open(
            lib.PERF_TYPE_HARDWARE, lib.PERF_COUNT_HW_CPU_CYCLES, 0, 0, 1_000_000, 0, 0, -1
        )
    )
    if fd < 0:
        pmus = sorted(os.listdir(_PMU)) if os.path.isdir(_PMU) else []
        return (
            f"hardware perf events: opening a cycles counter failed: {_refusal(-fd)} "
            f"(no CPU PMU: {_PMU} lists {', '.join(pmus) or 'nothing'})"
        )
    os.close(fd)
    return _prog_type(ProgType.PERF_EVENT)


def _probe_kprobe_session() -> str | None:
    ffi, lib = _lib()

    def attach(prog: int) -> int:
        name = ffi.new("char[]", _PROBE_FUNC.encode())
        syms = ffi.new("const char *[]", [name])
        return int(lib.lpy_link_create_kprobe_session(prog, syms, 1))

    reason = _with_prog(
        ProgType.KPROBE,
        AttachType.TRACE_KPROBE_SESSION,
        attach,
        what="kprobe sessions (Linux 6.10+)",
    )
    return reason + _kconfig_note("CONFIG_FPROBE", "CONFIG_KPROBES") if reason else None


def _ordered(attach: AttachType, what: str, *options: str) -> Callable[[], str | None]:
    def probe() -> str | None:
        _, lib = _lib()
        reason = _with_prog(
            ProgType.SCHED_CLS,
            attach,
            lambda prog: int(
                lib.lpy_link_create_ordered(prog, _NO_SUCH_IFINDEX, attach, 0, 0, 0, 0)
            ),
            what=what,
        )
        # A missing interface (ENODEV) means the kernel knows the attach kind.
        if reason is None or "ENODEV" in reason:
            return None
        return reason + _kconfig_note(*options)

    return probe


def _probe_netfilter() -> str | None:
    _, lib = _lib()
    # Accepts every packet, attached for the blink of the probe.
    return _with_prog(
        ProgType.NETFILTER,
        AttachType.NETFILTER,
        lambda prog: int(
            lib.lpy_link_create_netfilter(prog, lib.NFPROTO_IPV4, lib.NF_INET_LOCAL_IN, -128, 0)
        ),
        retval=lib.NF_ACCEPT,
        what="netfilter (Linux 6.4+)",
    )


def _probe_cgroup() -> str | None:
    if cgroup2_mount() is None:
        return "no cgroup v2 hierarchy is mounted"
    return _prog_type(ProgType.CGROUP_SKB)


def _probe_cgroup_ordering() -> str | None:
    """Whether a cgroup link takes BPF_F_BEFORE/AFTER placement (Linux 6.16+, and
    stable kernels that took the change: Debian's 6.12.117 has it).

    The kernel checks a cgroup link's flags before it looks at the target: a cgroup
    ``bpf_link_create`` with ``BPF_F_BEFORE`` on an fd that is no cgroup answers EBADF
    where the flags are known and EINVAL where they are not, and attaches nothing.
    """
    reason = _probe_cgroup()
    if reason:
        return reason
    ffi, lib = _lib()

    def attach(prog: int) -> int:
        opts = ffi.new("struct bpf_link_create_opts *")
        opts.sz = ffi.sizeof("struct bpf_link_create_opts")
        opts.flags = lib.BPF_F_BEFORE
        return int(lib.bpf_link_create(prog, -1, AttachType.CGROUP_INET_EGRESS, opts))

    what = "cgroup ordering (before=/after= on cgroup links, Linux 6.16+)"
    reason = _with_prog(
        ProgType.CGROUP_SKB, AttachType.CGROUP_INET_EGRESS, attach, retval=1, what=what
    )
    # EBADF: the flags passed, only the (deliberately bad) cgroup fd was refused.
    if reason is None or "EBADF" in reason:
        return None
    if "EINVAL" in reason:
        return f"{what}: this kernel refuses placement flags on cgroup links (EINVAL)"
    return reason


def _probe_sockmap() -> str | None:
    reason = _needs("map_type:sockmap", "prog_type:sk_skb", "prog_type:sk_msg")()
    if reason:
        return reason
    ffi, lib = _lib()
    # attach_sockmap makes a BPF link (Linux 6.10+); older kernels only attach the
    # program to the map without one. Linked to an empty sockmap, it sees nothing.
    sockmap = _map_create(MapType.SOCKMAP, 4, 4, 1)
    if sockmap < 0:
        return f"sockmap: creating a sockmap failed: {_refusal(-sockmap)}"
    try:
        reason = _with_prog(
            ProgType.SK_MSG,
            AttachType.SK_MSG_VERDICT,
            lambda prog: int(
                lib.bpf_link_create(prog, sockmap, AttachType.SK_MSG_VERDICT, ffi.NULL)
            ),
            what="sockmap links (Linux 6.10+)",
        )
    finally:
        os.close(sockmap)
    return reason


def _struct_ops_map(flags: int, what: str) -> str | None:
    """Ask for a struct_ops map of ops type 1, which names no ops type: a kernel that has
    struct_ops (and accepts ``flags``) answers ENOTSUPP, one without answers EINVAL.

    libbpf's own probe also sets ``value_type_btf_obj_fd`` to -1, a field kernels before
    6.9 do not know and refuse because it is not zero, so it says no on Linux 6.1..6.8.
    """
    ffi, lib = _lib()
    opts = ffi.new("struct bpf_map_create_opts *")
    opts.sz = ffi.sizeof("struct bpf_map_create_opts")
    opts.btf_vmlinux_value_type_id = 1
    opts.map_flags = flags
    fd = int(lib.bpf_map_create(MapType.STRUCT_OPS, ffi.NULL, 4, 4, 1, opts))
    if fd >= 0:  # no kernel builds this map, but then the type exists
        os.close(fd)
        return None
    if -fd == _ENOTSUPP:
        return None
    return f"{what}: {_refusal(-fd)}"


def _probe_struct_ops_link() -> str | None:
    reason = check("attach:struct_ops")
    if reason:
        return reason
    _, lib = _lib()
    return _struct_ops_map(
        lib.BPF_F_LINK,
        "struct_ops links (Linux 6.4+): the kernel refuses BPF_F_LINK on struct_ops maps",
    )


def _needs(*features: str) -> Callable[[], str | None]:
    def probe() -> str | None:
        for feature in features:
            reason = check(feature)
            if reason:
                return reason
        return None

    return probe


_ATTACH_PROBES: dict[str, Callable[[], str | None]] = {
    "xdp": _needs("prog_type:xdp"),
    "tc": _needs("prog_type:sched_cls"),
    "tcx": _ordered(AttachType.TCX_INGRESS, "tcx links (Linux 6.6+)", "CONFIG_NET_XGRESS"),
    "netkit": _ordered(AttachType.NETKIT_PRIMARY, "netkit (Linux 6.7+)", "CONFIG_NETKIT"),
    "tracepoint": _probe_tracepoint,
    "raw_tracepoint": _probe_raw_tracepoint,
    "raw_tracepoint_cookie": _probe_raw_tracepoint_cookie,
    "fentry": _tracing(AttachType.TRACE_FENTRY, _FENTRY_TARGET, "fentry"),
    "fexit": _tracing(AttachType.TRACE_FEXIT, _FENTRY_TARGET, "fexit"),
    "fmod_ret": _tracing(AttachType.MODIFY_RETURN, _FMOD_RET_TARGET, "fmod_ret"),
    "lsm": _tracing(AttachType.LSM_MAC, _LSM_HOOK, "lsm"),
    "trace_cookie": _probe_trace_cookie,
    "freplace": _probe_freplace,
    "xdp_dev_bound": _probe_xdp_dev_bound,
    "kprobe": _probe_kprobe,
    "kretprobe": _probe_kprobe,
    "kprobe_multi": _probe_kprobe_multi,
    "kprobe_session": _probe_kprobe_session,
    "uprobe": _probe_uprobe,
    "uretprobe": _probe_uprobe,
    "usdt": _probe_uprobe,
    "uprobe_multi": _probe_uprobe_multi,
    "perf_event": _probe_perf_event,
    "perf_event_cookie": _probe_perf_event_cookie,
    "perf_event_hardware": _probe_perf_event_hardware,
    "cgroup": _probe_cgroup,
    "cgroup_ordering": _probe_cgroup_ordering,
    "socket_filter": _needs("prog_type:socket_filter"),
    "sk_lookup": _needs("prog_type:sk_lookup"),
    "netns": _needs("prog_type:sk_lookup"),
    "sockmap": _probe_sockmap,
    "netfilter": _probe_netfilter,
    "iter": _probe_iter,
    "struct_ops": _needs("map_type:struct_ops", "prog_type:struct_ops"),
    "struct_ops_link": _probe_struct_ops_link,
}

#: Every attach kind :func:`check` can probe as ``attach:<kind>``.
ATTACH_KINDS: tuple[str, ...] = tuple(_ATTACH_PROBES)


@_PerToken
def _cached_attach(kind: str) -> str | None:
    return _ATTACH_PROBES[kind]()


# --- bpf() commands ----------------------------------------------------------------


def _probe_prog_stream_read() -> str | None:
    ffi, lib = _lib()
    prog = _load_min(ProgType.SOCKET_FILTER)
    if prog < 0:
        return f"BPF streams: loading a socket filter failed: {_refusal(-prog)}"
    try:
        buf = ffi.new("char[]", 8)
        ret = int(lib.bpf_prog_stream_read(prog, 1, buf, 8, ffi.NULL))
    finally:
        os.close(prog)
    if ret >= 0:
        return None
    # An unknown command is EINVAL: the kernel predates BPF streams.
    return (
        "BPF streams: the kernel does not know BPF_PROG_STREAM_READ_BY_FD (Linux "
        f"6.17+): {_refusal(-ret)}"
    )


def _probe_token_create() -> str | None:
    from libbpf_py.token import kernel_lacks_tokens

    return kernel_lacks_tokens()


def _probe_map_elem_cpu() -> str | None:
    ffi, lib = _lib()
    what = "BPF_F_CPU lookups of per-CPU maps (Linux 7.0+)"
    fd = int(lib.bpf_map_create(MapType.PERCPU_ARRAY, b"lpy_probe_cpu", 4, 8, 1, ffi.NULL))
    if fd < 0:
        return f"{what}: creating a per-CPU array failed: {_refusal(-fd)}"
    try:
        key = ffi.new("__u32 *", 0)
        # Room for every CPU's value, in case a kernel ignored the flag.
        out = ffi.new("char[]", 8 * max(int(lib.libbpf_num_possible_cpus()), 1))
        ret = int(lib.bpf_map_lookup_elem_flags(fd, key, out, lib.BPF_F_CPU))
    finally:
        os.close(fd)
    if ret >= 0:
        return None
    # Older kernels refuse every lookup flag but BPF_F_LOCK with EINVAL.
    return f"{what}: the kernel refuses the flag: {_refusal(-ret)}"


_COMMAND_PROBES: dict[str, Callable[[], str | None]] = {
    "prog_stream_read": _probe_prog_stream_read,
    "token_create": _probe_token_create,
    "map_elem_cpu": _probe_map_elem_cpu,
}

#: Every ``bpf()`` command :func:`check` can probe as ``command:<name>``.
COMMANDS: tuple[str, ...] = tuple(_COMMAND_PROBES)


@_PerToken
def _cached_command(name: str) -> str | None:
    return _COMMAND_PROBES[name]()
