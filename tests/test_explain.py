"""Teaching mode switched on from the environment and as a context manager."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import libbpf_py
from tests.conftest import requires_root


def test_explain_is_a_switch_and_a_context_manager() -> None:
    assert not libbpf_py.explaining()
    switch = libbpf_py.explain()
    assert libbpf_py.explaining()
    with libbpf_py.explain(False):
        assert not libbpf_py.explaining()
    assert libbpf_py.explaining()
    switch.__exit__(None, None, None)
    assert not libbpf_py.explaining()


@requires_root
def test_environment_switches_narration_on(filter_object: Path) -> None:
    script = textwrap.dedent(f"""
        import logging, libbpf_py
        logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s")
        assert libbpf_py.explaining()
        with libbpf_py.ObjectFile({str(filter_object)!r}).open() as obj, obj.load():
            pass
    """)
    env = dict(os.environ, LIBBPF_PY_EXPLAIN="1")
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    for phase in (
        "[open] bpf_object__open_mem",
        "[load] bpf_object__load",
        "[tear down] bpf_object__close",
    ):
        assert f"libbpf_py.explain {phase}" in proc.stderr
