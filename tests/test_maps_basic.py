"""Maps of a loaded object through the mapping protocol."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import KeyNotFound, LayoutError, LoadedObject, MapFullError
from libbpf_py.maps import possible_cpus
from libbpf_py.types._codec import PerCpu
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]


@pytest.fixture
def loaded(bpf_objects: dict[str, Path]) -> Iterator[LoadedObject]:
    with libbpf_py.ObjectFile(bpf_objects["lifecycle"]).open() as obj, obj.load() as loaded:
        yield loaded


def test_int_keys_and_values_from_btf(loaded: LoadedObject) -> None:
    small = loaded.maps["small"]  # __u64 -> __s32
    small[2**64 - 1] = -7
    small[3] = 2**31 - 1
    assert small[2**64 - 1] == -7
    assert small.get(3) == 2**31 - 1
    assert small.get(4, "none") == "none"
    assert 3 in small and 4 not in small
    assert dict(small.items()) == {2**64 - 1: -7, 3: 2**31 - 1}
    assert sorted(small.keys()) == [3, 2**64 - 1]
    assert sorted(small.values()) == [-7, 2**31 - 1]
    assert len(small) == 2
    del small[3]
    assert 3 not in small
    # raw bytes of the exact size are always accepted
    small[(5).to_bytes(8, "little")] = (9).to_bytes(4, "little")
    assert small[5] == 9


def test_missing_key_is_a_key_error(loaded: LoadedObject) -> None:
    small = loaded.maps["small"]
    with pytest.raises(KeyNotFound) as info:
        small[12345]
    assert isinstance(info.value, KeyError)
    assert "12345" in str(info.value)
    with pytest.raises(KeyError):
        del small[12345]


def test_wrong_sizes_and_types(loaded: LoadedObject) -> None:
    small = loaded.maps["small"]
    with pytest.raises(LayoutError, match="exactly 8 bytes"):
        small[b"\0\0\0\0"] = 1
    with pytest.raises(LayoutError, match="exactly 4 bytes"):
        small[1] = b"\0" * 8
    with pytest.raises(LayoutError, match="out of range"):
        small[1] = 2**31
    with pytest.raises(LayoutError, match="out of range"):
        small[-1] = 0
    with pytest.raises(TypeError, match="not str"):
        small["one"] = 1
    assert isinstance(LayoutError("x"), ValueError)


def test_map_full(loaded: LoadedObject) -> None:
    small = loaded.maps["small"]
    for i in range(small.max_entries):
        small[i] = i
    with pytest.raises(MapFullError, match="max_entries=8"):
        small[100] = 1
    small[0] = 5  # replacing an existing key still works
    assert small[0] == 5


def test_update_flags(loaded: LoadedObject) -> None:
    from libbpf_py.maps import UpdateFlag

    small = loaded.maps["small"]
    small.update(1, 1, UpdateFlag.NOEXIST)
    with pytest.raises(libbpf_py.ResourceBusy):
        small.update(1, 2, UpdateFlag.NOEXIST)
    with pytest.raises(KeyNotFound):
        small.update(2, 2, UpdateFlag.EXIST)
    small.update(1, 3, UpdateFlag.EXIST)
    assert small[1] == 3


def test_array_map(loaded: LoadedObject) -> None:
    hits = loaded.maps["hits"]
    assert len(hits) == 4
    hits[2] = 2**64 - 1
    assert hits[2] == 2**64 - 1
    with pytest.raises(KeyNotFound, match="out of range"):
        hits[4] = 1
    with pytest.raises(libbpf_py.BpfError, match="cannot be deleted"):
        del hits[0]


def test_per_cpu_values(filter_object: Path) -> None:
    with libbpf_py.ObjectFile(filter_object).open() as obj, obj.load() as loaded:
        counters = loaded.maps["counters"]
        value = counters[0]
        assert isinstance(value, PerCpu) and len(value) == possible_cpus()
        counters[0] = 3  # broadcast
        assert list(counters[0]) == [3] * possible_cpus()
        counters[1] = list(range(possible_cpus()))
        assert counters[1].sum() == sum(range(possible_cpus()))
        with pytest.raises(LayoutError, match="one value per possible CPU"):
            counters[1] = [1] * (possible_cpus() + 1)


def test_map_info_from_the_kernel(loaded: LoadedObject) -> None:
    info = loaded.maps["small"].info()
    assert info.name == "small" and info.key_size == 8 and info.value_size == 4
    assert info.id == loaded.maps["small"].id > 0
    assert info.btf_id > 0
