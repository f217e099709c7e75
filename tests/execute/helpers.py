"""Helpers of the execute tests: read a producer's counters straight from its .bss map."""

from __future__ import annotations

import struct

import libbpf_py
from libbpf_py._lowlevel import check, ffi, lib


def read_globals(
    obj: libbpf_py.LoadedObject, source: libbpf_py.ObjectFile, *names: str
) -> dict[str, tuple[int, ...]]:
    """The u64 arrays ``names`` of the object's .bss, read with one raw map lookup."""
    spec = source.inspect()
    bss = next(m for name, m in obj.maps.items() if name.endswith(".bss"))
    key = ffi.new("__u32 *", 0)
    value = ffi.new("char[]", bss.value_size)
    check(lib.bpf_map_lookup_elem(bss.fd, key, value), "reading .bss")
    raw = ffi.buffer(value)[:]
    out = {}
    for name in names:
        var = spec.globals[name]
        out[name] = struct.unpack_from(f"<{var.size // 8}Q", raw, var.offset)
    return out


#: Arguments of the execsnoop-style records of tests/bpf/execute/truncated.bpf.c:
#: NUL-separated strings, one empty, of lengths that end records anywhere.
EXEC_ARGS = [
    [b"ls", b"-l", b"--color=auto", b"/tmp"],
    [b"sh", b"-c", b"echo 'a b'", b"", b"x" * 100],
    [b"true"],
    [b"python3", b"-m", b"pytest", b"-q", b"-p", b"no:cacheprovider", b"tests/a b.py"],
]
#: offsetof(struct exec_event, args)
EXEC_ARGS_OFFSET = 36


def send_exec(obj: libbpf_py.LoadedObject, program: str, args: list[bytes], cut: int = 0) -> int:
    """Run ``program`` once on ``args`` (or cut at ``cut`` bytes); the bytes it submitted."""
    packed = b"".join(a + b"\0" for a in args)
    obj.bss.input = packed
    obj.bss.input_len = len(packed)
    obj.bss.input_count = len(args)
    obj.bss.cut = cut
    obj.programs[program].test_run(b"\0" * 64)
    return cut or EXEC_ARGS_OFFSET + len(packed)
