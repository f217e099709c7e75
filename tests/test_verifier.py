"""Phase 4 failures: the verifier's complaint reaches the user complete."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import VerifierError
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]


def test_rejected_program_carries_the_verifier_log(bpf_objects: dict[str, Path]) -> None:
    with (
        pytest.raises(VerifierError) as info,
        libbpf_py.ObjectFile(bpf_objects["bad_access"]).open() as obj,
    ):
        obj.load()
    err = info.value
    assert err.program == "read_without_check"
    assert any("invalid access to packet" in line for line in err.log)
    assert any(line.startswith("processed ") for line in err.log)
    assert "invalid access to packet" in str(err)
    assert err.errno == 13  # EACCES: what the kernel returned


def test_log_level_keeps_the_log_of_a_good_program(bpf_objects: dict[str, Path]) -> None:
    with (
        libbpf_py.ObjectFile(bpf_objects["lifecycle"]).open() as obj,
        obj.load(log_level=1) as loaded,
    ):
        log = loaded.programs["pass_all"].verifier_log
        assert any(line.startswith("processed ") for line in log)


def test_logs_are_captured_per_thread(bpf_objects: dict[str, Path]) -> None:
    errors: dict[int, VerifierError] = {}

    def load(i: int) -> None:
        try:
            with libbpf_py.ObjectFile(bpf_objects["bad_access"]).open() as obj:
                obj.load()
        except VerifierError as exc:
            errors[i] = exc

    threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(errors) == [0, 1, 2, 3]
    for exc in errors.values():
        assert sum("invalid access to packet" in line for line in exc.log) == 1


def test_a_long_verifier_log_is_complete() -> None:
    # The verifier walks a bounded loop instruction by instruction; at log_level 2 it
    # writes a line per step, then rejects the bad access at the very end.
    src = """
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
SEC("xdp") int long_log(struct xdp_md *ctx) {
    unsigned char *data = (void *)(long)ctx->data;
    unsigned int acc = 0;
    for (int i = 0; i < 3000; i++)
        acc = acc * 31 + i;
    return data[4000] + acc;
}
char LICENSE[] SEC("license") = "GPL";
"""
    obj_path = libbpf_py.compile(src)
    with pytest.raises(VerifierError) as info, libbpf_py.ObjectFile(obj_path).open() as obj:
        obj.programs["long_log"].log_level = 2
        obj.load()
    log = info.value.log
    assert len(log) > 10000
    assert sum(len(line) for line in log) > 1 << 20  # more than libbpf's first buffer
    assert any("invalid access to packet" in line for line in log[-10:])
    assert any(line.startswith("processed ") for line in log[-5:])


def test_a_rejected_program_fails_only_what_needs_it(bpf_objects: dict[str, Path]) -> None:
    # Loaded whole, the object fails on the program every kernel rejects, and says which.
    with (
        pytest.raises(VerifierError) as info,
        libbpf_py.ObjectFile(bpf_objects["mixed"]).open() as obj,
    ):
        obj.load()
    assert info.value.program == "rejected"
    assert any("invalid access to packet" in line for line in info.value.log)
    # Without it, the rest of the same object loads and runs.
    with libbpf_py.ObjectFile(bpf_objects["mixed"]).open() as opened:
        opened.programs["rejected"].autoload = False
        with opened.load() as loaded:
            accepted = loaded.programs["accepted"]
            assert accepted.test_run(bytes(64)).retval == 1  # XDP_DROP
            assert loaded.maps["runs"][0] == 1
            assert not loaded.programs["rejected"].loaded
            with pytest.raises(libbpf_py.PhaseError, match="autoload was off"):
                loaded.programs["rejected"].test_run(bytes(64))
