"""Map kinds whose values are kernel objects, batches, numpy, and memory-mapped arrays."""

from __future__ import annotations

import errno
import socket

import numpy as np
import pytest

import libbpf_py
from libbpf_py import LayoutError, LoadedObject, NotFound
from libbpf_py.maps import Map
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]
MMAPABLE = 1 << 10


def test_prog_array_takes_programs(typed: LoadedObject) -> None:
    prog = typed.programs["exchange"]
    with Map.create("prog_array", 4, 4, 4) as jumps:
        jumps[1] = prog
        assert jumps[1] == prog.info().id  # the kernel reports the program's id
        assert jumps.get(0) is None
        del jumps[1]
        assert jumps.get(1) is None
        with pytest.raises(TypeError, match="Program, a Map, a socket or an fd"):
            jumps[0] = "exchange"


def test_devmap_and_cpumap_entries(typed: LoadedObject) -> None:
    lo = socket.if_nametoindex("lo")
    with Map.create("devmap", 4, 8, 4) as devs:
        devs[0] = ("lo", None)  # struct bpf_devmap_val: ifindex, no program
        assert devs[0] == (lo, 0)
        devs[1] = (lo, None)
        assert sorted(devs.items()) == [(0, (lo, 0)), (1, (lo, 0))]
    with Map.create("devmap", 4, 4, 2) as devs:
        devs[0] = "lo"
        assert devs[0] == lo
        with pytest.raises(NotFound, match="no network interface named 'lpy-none0'"):
            devs[1] = "lpy-none0"
        with pytest.raises(TypeError, match="the device is an int"):
            devs[1] = 1.5
    with Map.create("cpumap", 4, 8, 2) as cpus:
        cpus[0] = (192, None)  # queue size, no program
        assert cpus[0] == (192, 0)
    with Map.create("cpumap", 4, 4, 1) as narrow, pytest.raises(LayoutError, match="8-byte cpumap"):
        narrow[0] = (1, 2)


def test_sockmap_takes_sockets() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = socket.create_connection(server.getsockname())
    peer, _ = server.accept()
    try:
        with Map.create("sockmap", 4, 8, 2) as socks:
            socks[0] = client
            cookie = socks[0]
            so_cookie = 57
            assert cookie == int.from_bytes(
                client.getsockopt(socket.SOL_SOCKET, so_cookie, 8), "little"
            )
            del socks[0]
            assert socks.get(0) is None
    finally:
        for s in (client, peer, server):
            s.close()


def test_xskmap_takes_xdp_sockets() -> None:
    """Entries take AF_XDP sockets; the kernel has no user-space lookup for them."""
    xsk = socket.socket(44, socket.SOCK_RAW)  # AF_XDP
    try:
        with Map.create("xskmap", 4, 4, 1) as xsks:
            try:
                xsks[0] = xsk
                stored = True
            except libbpf_py.BpfError as refused:
                # Newer kernels (7.2) take only sockets bound to a queue, with rings.
                assert refused.errno == errno.ENOBUFS
                stored = False
            with pytest.raises(libbpf_py.NotSupported) as info:
                xsks[0]
            assert info.value.errno == errno.EOPNOTSUPP
            if stored:
                del xsks[0]
            with pytest.raises(TypeError, match="Program, a Map, a socket or an fd"):
                xsks[0] = 1.5
    finally:
        xsk.close()


def test_batches_and_numpy() -> None:
    with Map.create("hash", 8, 4, 1000, key_type="u64", value_type="s32") as m:
        keys = np.arange(500, dtype=np.uint64) * 3
        values = -np.arange(500, dtype=np.int32)
        assert m.update_batch(keys, values) == 500
        arr = m.to_numpy()
        assert arr.dtype.names == ("key", "value")
        assert dict(zip(arr["key"].tolist(), arr["value"].tolist(), strict=True)) == dict(
            zip(keys.tolist(), values.tolist(), strict=True)
        )
        assert dict(m.items()) == dict(zip(keys.tolist(), values.tolist(), strict=True))
        assert len(m) == 500
        assert m.delete_batch([0, 3, 6]) == 3
        gone = m.lookup_and_delete_batch(10)
        # whole hash buckets only: up to 10, and exactly those are gone
        assert 1 <= len(gone) <= 10 and len(m) == 497 - len(gone)
        assert all(k not in m for k, _ in gone)
        m.clear()
        assert len(m) == 0 and m.to_numpy().shape == (0,)
        with pytest.raises(LayoutError, match="numpy items of int16"):
            m.update_batch(np.zeros(2, np.int16), np.zeros(2, np.int32))


def test_typed_to_numpy_round_trip(typed: LoadedObject) -> None:
    flows = typed.maps["flows"]
    flows.update_batch(
        [(6, i, 80, 1, 0) for i in range(5)], [{"packets": i * 10, "delta": -i} for i in range(5)]
    )
    arr = flows.to_numpy()
    assert sorted(arr["key"]["addr"].tolist()) == list(range(5))
    assert sorted(arr["value"]["packets"].tolist()) == [0, 10, 20, 30, 40]
    flows.clear()
    assert flows.update_batch(arr["key"], arr["value"]) == 5  # numpy back in
    assert sorted(v.delta for v in flows.values()) == [-4, -3, -2, -1, 0]


def test_mmapable_array_without_syscalls() -> None:
    with Map.create("array", 4, 8, 64, flags=MMAPABLE, key_type="u32", value_type="u64") as m:
        assert m.mmapped
        m[5] = 2**64 - 1
        # the kernel's view, through the system call, agrees with the mapping
        assert Map.__getitem__(m, 5) == 2**64 - 1
        Map.update(m, 6, 7)
        assert m[6] == 7
        with pytest.raises(libbpf_py.KeyNotFound, match="out of range"):
            m[64]
        with pytest.raises(libbpf_py.KeyNotFound):
            m[-1]
        with pytest.raises(LayoutError, match="out of range"):
            m[1] = -1
        assert list(m.values())[5:7] == [2**64 - 1, 7]
    with Map.create(
        "array", 4, 4, 8, flags=MMAPABLE, key_type="u32", value_type="s32"
    ) as small:  # 4-byte values in 8-byte slots
        small[7] = -5
        assert small[7] == -5 and Map.__getitem__(small, 7) == -5
