"""hypothesis state machines: every map kind against a Python model, zero divergence.

Keys and values are the typed structs of tests/bpf/maps/typed.bpf.c (padding,
bitfields, enums, unions, nested structs), given in every accepted form (objects,
dicts, tuples, raw bytes packed by an independent reference), with single and batch
operations mixed. Each example loads the object afresh and closes it at teardown.
"""

from __future__ import annotations

import collections
import ipaddress
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import libbpf_py
from libbpf_py import KeyNotFound, MapFullError, ResourceBusy
from libbpf_py.maps import Map, PerCpu, UpdateFlag
from libbpf_py.vm import guest_release
from tests.conftest import requires_root
from tests.maps import models as M

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]

# A guest of the kernel matrix runs half the examples: map semantics are the kernel's, so
# every kernel is still asked every rule, and software emulation makes each step slow.
SETTINGS = settings(
    max_examples=10 if guest_release() is None else 5,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
OBJECT: list[Path] = []


@pytest.fixture(autouse=True)
def _object(typed_object: Path) -> None:
    OBJECT[:] = [typed_object]


class _Loaded(RuleBasedStateMachine):
    map_name: ClassVar[str]

    def __init__(self) -> None:
        super().__init__()
        with libbpf_py.ObjectFile(OBJECT[0]).open() as opened:
            self.obj = opened.load()
        self.m = self.obj.maps[self.map_name]

    def teardown(self) -> None:
        self.obj.close()


# -- hashes: HASH, LRU_HASH, PERCPU_HASH, LRU_PERCPU_HASH --------------------------------


class _HashMachine(_Loaded):
    lru: ClassVar[bool] = False
    percpu: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[M.KeyT, Any] = {}
        self.K = self.m.key_type.python_type
        self.V = self.m.value_type.python_type
        self.ncpus = libbpf_py.maps.possible_cpus()

    # values: val_t for plain hashes, small_t per CPU for per-CPU ones
    def _value_in(self, form: str, v: Any) -> Any:
        if self.percpu:
            return (
                PerCpu(M.small_in(form, x, self.V) for x in v)
                if form != "bytes"
                else b"".join(M.pack_small(x) for x in v)
            )
        return M.val_in(form, v, self.V)

    def _norm(self, got: Any) -> Any:
        if self.percpu:
            assert isinstance(got, PerCpu) and len(got) == self.ncpus
            return tuple(M.small_of(x) for x in got)
        return M.val_of(got)

    def _present(self, k: M.KeyT, got: Any) -> None:
        """The map has ``k`` with ``got``: the model must agree."""
        assert k in self.model, f"the map has {k} which the model lacks"
        assert self._norm(got) == self.model[k]

    def _absent(self, k: M.KeyT) -> None:
        if self.lru:
            self.model.pop(k, None)  # evicted: allowed for LRU maps
        else:
            assert k not in self.model, f"the map lost {k}"

    def _values(self) -> st.SearchStrategy[Any]:
        return (
            st.lists(M.smalls, min_size=self.ncpus, max_size=self.ncpus).map(tuple)
            if self.percpu
            else M.vals
        )

    @rule(k=M.keys, data=st.data(), kf=M.forms, vf=M.forms)
    def set(self, k: M.KeyT, data: st.DataObject, kf: str, vf: str) -> None:
        v = data.draw(self._values())
        try:
            self.m[M.key_in(kf, k, self.K)] = self._value_in(vf, v)
        except MapFullError as exc:
            assert not self.lru and k not in self.model
            assert len(self.model) == self.m.max_entries
            assert f"max_entries={self.m.max_entries}" in str(exc)
            return
        self.model[k] = v

    @precondition(lambda self: not self.lru)
    @rule(k=M.keys, data=st.data(), flag=st.sampled_from([UpdateFlag.NOEXIST, UpdateFlag.EXIST]))
    def update_with_flags(self, k: M.KeyT, data: st.DataObject, flag: int) -> None:
        v = data.draw(self._values())
        try:
            self.m.update(k, self._value_in("tuple", v), flag)
        except ResourceBusy:
            assert flag == UpdateFlag.NOEXIST and k in self.model
            return
        except KeyNotFound:
            assert flag == UpdateFlag.EXIST and k not in self.model
            return
        except MapFullError:
            assert len(self.model) == self.m.max_entries
            return
        assert (k in self.model) == (flag == UpdateFlag.EXIST)
        self.model[k] = v

    @rule(k=M.keys, kf=M.forms)
    def get(self, k: M.KeyT, kf: str) -> None:
        got = self.m.get(M.key_in(kf, k, self.K))
        if got is None:
            self._absent(k)
            with pytest.raises(KeyNotFound):
                self.m[k]
        else:
            self._present(k, got)
            assert k in self.m

    @rule(k=M.keys)
    def delete(self, k: M.KeyT) -> None:
        try:
            del self.m[self.K(*k)]
        except KeyNotFound:
            self._absent(k)
            return
        assert k in self.model or self.lru
        self.model.pop(k, None)

    @rule(k=M.keys)
    def pop(self, k: M.KeyT) -> None:
        got = self.m.pop(k, None)
        if got is None:
            self._absent(k)
        else:
            self._present(k, got)
            del self.model[k]

    @rule(data=st.data())
    def update_batch(self, data: st.DataObject) -> None:
        keys = data.draw(st.lists(M.keys, max_size=6, unique=True))
        values = [data.draw(self._values()) for _ in keys]
        free = self.m.max_entries - len(self.model)
        if not self.lru and len([k for k in keys if k not in self.model]) > free:
            return  # a partial batch is tested elsewhere; keep the model exact
        assert self.m.update_batch(
            [self.K(*k) for k in keys], [self._value_in("tuple", v) for v in values]
        ) == len(keys)
        self.model.update(zip(keys, values, strict=True))

    @rule(data=st.data())
    def delete_batch(self, data: st.DataObject) -> None:
        keys = data.draw(st.lists(M.keys, max_size=5, unique=True))
        self.m.delete_batch(keys, missing_ok=True)
        for k in keys:
            self.model.pop(k, None)

    @invariant()
    def everything_agrees(self) -> None:
        dumped = {M.key_of(k): self._norm(v) for k, v in self.m.items()}
        for k, v in dumped.items():
            assert self.model.get(k) == v, f"{k}: map {v} model {self.model.get(k)}"
        if self.lru:
            for k in set(self.model) - set(dumped):
                del self.model[k]
        assert dumped == self.model
        assert len(self.m) == len(self.model)
        batch = {M.key_of(k): self._norm(v) for k, v in self.m.lookup_batch()}
        assert batch == dumped


class HashMachine(_HashMachine):
    map_name = "flows"


class LruHashMachine(_HashMachine):
    map_name = "lru"
    lru = True


class PerCpuHashMachine(_HashMachine):
    map_name = "pc_hash"
    percpu = True


class LruPerCpuHashMachine(_HashMachine):
    map_name = "lru_pc"
    lru = True
    percpu = True


# -- arrays: ARRAY, PERCPU_ARRAY ----------------------------------------------------------


class _ArrayMachine(_Loaded):
    percpu: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.V = self.m.value_type.python_type
        self.ncpus = libbpf_py.maps.possible_cpus()
        zero = (0, 0, 0) if self.percpu else M.VAL.unpack(bytes(M.VAL.size))
        zero_v = (
            ((0, 0, 0),) * self.ncpus if self.percpu else (0, 0, 0, b"", (0, 0, 0), (0, 0), 0, 0, 0)
        )
        assert zero is not None
        self.model = [zero_v] * self.m.max_entries

    def _norm(self, got: Any) -> Any:
        if self.percpu:
            return tuple(M.small_of(x) for x in got)
        return M.val_of(got)

    def _value(self, data: st.DataObject) -> tuple[Any, Any]:
        if self.percpu:
            v = tuple(data.draw(st.lists(M.smalls, min_size=self.ncpus, max_size=self.ncpus)))
            return v, [M.small_in("dict", x, self.V) for x in v]
        v = data.draw(M.vals)
        return v, M.val_in(data.draw(M.forms), v, self.V)

    @rule(i=st.integers(-2, 18), data=st.data())
    def set(self, i: int, data: st.DataObject) -> None:
        v, given = self._value(data)
        if not 0 <= i < self.m.max_entries:
            with pytest.raises((KeyNotFound, libbpf_py.LayoutError)):
                self.m[i] = given
            return
        self.m[i] = given
        self.model[i] = v

    @rule(i=st.integers(-2, 18))
    def get(self, i: int) -> None:
        if not 0 <= i < self.m.max_entries:
            with pytest.raises((KeyNotFound, libbpf_py.LayoutError)):
                self.m[i]
            return
        assert self._norm(self.m[i]) == self.model[i]

    @rule(data=st.data())
    def update_batch(self, data: st.DataObject) -> None:
        idx = data.draw(st.lists(st.integers(0, self.m.max_entries - 1), max_size=5, unique=True))
        pairs = [self._value(data) for _ in idx]
        self.m.update_batch(idx, [g for _, g in pairs])
        for i, (v, _) in zip(idx, pairs, strict=True):
            self.model[i] = v

    @invariant()
    def everything_agrees(self) -> None:
        assert len(self.m) == self.m.max_entries
        assert [self._norm(v) for _, v in sorted(self.m.items())] == self.model
        arr = self.m.to_numpy()
        assert arr["key"].tolist() == list(range(self.m.max_entries))


class ArrayMachine(_ArrayMachine):
    map_name = "arr"


class PerCpuArrayMachine(_ArrayMachine):
    map_name = "pc_arr"
    percpu = True


# -- LPM trie: a longest-prefix model ----------------------------------------------------

prefixes = st.tuples(
    st.sampled_from([8, 16, 24, 32]),
    st.sampled_from(["10.0.0.0", "10.1.0.0", "10.1.2.0", "10.1.2.3", "192.168.1.7"]),
)


def _net(p: tuple[int, str]) -> ipaddress.IPv4Network:
    return ipaddress.ip_network(f"{p[1]}/{p[0]}", strict=False)


class LpmMachine(_Loaded):
    map_name = "lpm"

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[ipaddress.IPv4Network, int] = {}

    @rule(p=prefixes, v=st.integers(0, 2**32 - 1), form=st.sampled_from(["tuple", "net"]))
    def set(self, p: tuple[int, str], v: int, form: str) -> None:
        net = _net(p)
        key: Any = net if form == "net" else (net.prefixlen, net.network_address.packed)
        self.m[key] = v
        self.model[net] = v

    @rule(p=prefixes)
    def delete(self, p: tuple[int, str]) -> None:
        net = _net(p)
        try:
            del self.m[net]
        except KeyNotFound:
            assert net not in self.model
            return
        del self.model[net]

    @rule(
        addr=st.sampled_from(
            ["10.0.0.1", "10.1.2.3", "10.1.2.4", "10.1.9.9", "192.168.1.7", "11.0.0.0"]
        )
    )
    def longest_prefix(self, addr: str) -> None:
        a = ipaddress.ip_address(addr)
        matches = [n for n in self.model if a in n]
        got = self.m.get((32, a))
        if not matches:
            assert got is None
        else:
            assert got == self.model[max(matches, key=lambda n: n.prefixlen)]

    @invariant()
    def everything_agrees(self) -> None:
        dumped = {
            ipaddress.ip_network((ipaddress.IPv4Address(addr), plen)): v
            for (plen, addr), v in self.m.items()
        }
        assert dumped == self.model


# -- queue and stack ----------------------------------------------------------------------


class QueueMachine(_Loaded):
    map_name = "queue"
    lifo: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.V = self.m.value_type.python_type
        self.model: collections.deque[Any] = collections.deque()

    def _in(self, v: Any, form: str) -> Any:
        return M.small_in(form, v, self.V) if self.lifo else M.val_in(form, v, self.V)

    def _norm(self, got: Any) -> Any:
        return M.small_of(got) if self.lifo else M.val_of(got)

    def _next(self) -> Any:
        return self.model[-1] if self.lifo else self.model[0]

    @rule(data=st.data(), form=M.forms, overwrite=st.booleans())
    def push(self, data: st.DataObject, form: str, overwrite: bool) -> None:
        v = data.draw(M.smalls if self.lifo else M.vals)
        full = len(self.model) == self.m.max_entries
        if full and not overwrite:
            with pytest.raises(MapFullError, match=f"max_entries={self.m.max_entries}"):
                self.m.push(self._in(v, form))
            return
        self.m.push(self._in(v, form), overwrite=overwrite)
        if full:
            self.model.popleft()  # BPF_EXIST drops the oldest element
        self.model.append(v)

    @rule()
    def pop(self) -> None:
        if not self.model:
            with pytest.raises(KeyNotFound, match="empty"):
                self.m.pop()
            assert self.m.pop(default=None) is None
            return
        expected = self.model.pop() if self.lifo else self.model.popleft()
        assert self._norm(self.m.pop()) == expected

    @rule()
    def peek(self) -> None:
        if not self.model:
            assert self.m.peek(None) is None
            return
        assert self._norm(self.m.peek()) == self._next()


class StackMachine(QueueMachine):
    map_name = "stack"
    lifo = True


# -- bloom filter: no false negatives -----------------------------------------------------


class BloomMachine(_Loaded):
    map_name = "bloom"

    def __init__(self) -> None:
        super().__init__()
        self.added: set[M.KeyT] = set()
        self.K = self.m.value_type.python_type

    @rule(k=M.keys, form=M.forms)
    def add(self, k: M.KeyT, form: str) -> None:
        self.m.add(M.key_in(form, k, self.K))
        self.added.add(k)

    @rule(k=M.keys, form=M.forms)
    def query(self, k: M.KeyT, form: str) -> None:
        if M.key_in(form, k, self.K) not in self.m:
            assert k not in self.added, "a bloom filter gave a false negative"

    @invariant()
    def no_false_negatives(self) -> None:
        for k in self.added:
            assert k in self.m


# -- maps of maps ------------------------------------------------------------------------


class _MapOfMaps(_Loaded):
    array: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.inner = [
            Map.create("array", 4, 8, 4, name=f"lpy_inner{i}", key_type="u32", value_type="u64")
            for i in range(3)
        ]
        for i, m in enumerate(self.inner):
            m[0] = 100 + i
        self.ids = [m.id for m in self.inner]
        self.model: dict[int, int] = {}

    def teardown(self) -> None:
        super().teardown()
        for m in self.inner:
            m.close()

    @rule(k=st.integers(0, 7), which=st.integers(0, 2))
    def set(self, k: int, which: int) -> None:
        self.m[k] = self.inner[which]
        self.model[k] = self.ids[which]

    @rule(k=st.integers(0, 7))
    def delete(self, k: int) -> None:
        try:
            del self.m[k]
        except KeyNotFound:
            assert k not in self.model
            return
        assert k in self.model
        del self.model[k]

    @rule(k=st.integers(0, 7))
    def get(self, k: int) -> None:
        got = self.m.get(k)
        assert got == self.model.get(k)
        if got is not None:
            # the id opens the very inner map
            with Map.from_id(got, key_type="u32", value_type="u64") as inner:
                assert inner[0] == 100 + self.ids.index(got)

    @invariant()
    def everything_agrees(self) -> None:
        if self.array:
            assert {k: self.m.get(k) for k in range(8) if self.m.get(k) is not None} == self.model
        else:
            assert dict(self.m.items()) == self.model


class HashOfMapsMachine(_MapOfMaps):
    map_name = "outer_hash"


class ArrayOfMapsMachine(_MapOfMaps):
    map_name = "outer_arr"
    array = True


MACHINES = [
    HashMachine,
    LruHashMachine,
    PerCpuHashMachine,
    LruPerCpuHashMachine,
    ArrayMachine,
    PerCpuArrayMachine,
    LpmMachine,
    QueueMachine,
    StackMachine,
    BloomMachine,
    HashOfMapsMachine,
    ArrayOfMapsMachine,
]


@pytest.mark.parametrize("machine", MACHINES, ids=[m.__name__ for m in MACHINES])
def test_map_against_model(machine: type[RuleBasedStateMachine]) -> None:
    test = machine.TestCase
    test.settings = SETTINGS
    test().runTest()
