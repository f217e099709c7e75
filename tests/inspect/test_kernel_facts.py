"""Kernel facts read from BTF, checked against what the kernel's history says each of
Debian's 6.1 and 6.12 kernels has (and this machine's running kernel)."""

from __future__ import annotations

import pytest

from libbpf_py.btf.reader import read_btf
from libbpf_py.inspect.kernel_facts import KernelFacts
from libbpf_py.kernels import KERNEL_BTF, fetch_kernel_btf


@pytest.fixture(scope="module")
def facts() -> dict[str, KernelFacts]:
    return {
        v: KernelFacts.from_btf(read_btf(fetch_kernel_btf(v).read_bytes())) for v in ("6.1", "6.12")
    }


def test_what_came_between_6_1_and_6_12(facts: dict[str, KernelFacts]) -> None:
    old, new = facts["6.1"], facts["6.12"]
    # BPF_PROG_TYPE_NETFILTER (6.4), arena maps (6.9), netkit (6.7), cgroup storage
    # helpers (6.2), BTF kfunc tags (pahole of 6.9's time)
    assert "NETFILTER" in new.program_types and "NETFILTER" not in old.program_types
    assert "ARENA" in new.map_types and "ARENA" not in old.map_types
    assert "NETKIT_PRIMARY" in new.attach_types and "NETKIT_PRIMARY" not in old.attach_types
    assert "cgrp_storage_get" in new.helpers and "cgrp_storage_get" not in old.helpers
    assert old.kfuncs is None and new.kfuncs is not None and "bpf_rcu_read_lock" in new.kfuncs
    assert new.kfuncs <= new.functions


@pytest.mark.parametrize("version", ["6.1", "6.12"])
def test_what_both_have(facts: dict[str, KernelFacts], version: str) -> None:
    f = facts[version]
    assert {"XDP", "SCHED_CLS", "TRACING", "LSM", "STRUCT_OPS"} <= f.program_types
    assert {
        "HASH",
        "ARRAY",
        "RINGBUF",
        "USER_RINGBUF",
    } <= f.map_types and "UNSPEC" not in f.map_types
    assert {"map_lookup_elem", "ringbuf_output", "user_ringbuf_drain"} <= f.helpers
    assert {"sched_switch", "sys_enter"} <= f.tracepoints
    assert {"task", "bpf_map_elem"} <= f.iterators and "num_new" not in f.iterators
    assert {"file_open", "bprm_check_security"} <= f.lsm_hooks
    assert "wake_up_new_task" in f.functions
    assert {"runqueues", "bpf_prog_active"} <= f.variables


def test_the_running_kernel() -> None:
    f = KernelFacts.from_btf(read_btf(KERNEL_BTF.read_bytes()))
    assert "XDP" in f.program_types and "HASH" in f.map_types and "map_lookup_elem" in f.helpers
