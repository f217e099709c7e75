"""Every feature the library probes gets a consistent answer on this kernel; with
``LIBBPF_PY_RECORD_FEATURES=<dir>`` set, the answers are also written to
``<dir>/<release>.json``, the results file of docs/attach.md's feature table.

Run it in each kernel of the matrix to refresh the table (the guests share the
checkout, so the files come back through it)::

    LIBBPF_PY_RECORD_FEATURES=docs/_data/features ./dev test tests/attach/test_feature_record.py
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import features
from libbpf_py.enums import MapType, ProgType
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]

RECORD_ENV = "LIBBPF_PY_RECORD_FEATURES"
# The iterator targets the suite's programs use (tests/bpf/**/*.bpf.c).
ITER_TARGETS = ("bpf_map", "bpf_map_elem", "task")


def recorded_features() -> dict[str, list[str]]:
    """The features the table shows, by group, in the order the library lists them."""
    return {
        "attach": [f"attach:{kind}" for kind in features.ATTACH_KINDS],
        "command": [f"command:{name}" for name in features.COMMANDS],
        "iter": [f"iter:{target}" for target in ITER_TARGETS],
        "prog_type": [f"prog_type:{t.label}" for t in ProgType if t is not ProgType.UNSPEC],
        "map_type": [f"map_type:{t.label}" for t in MapType if t is not MapType.UNSPEC],
    }


def test_every_feature_gets_the_same_answer_twice() -> None:
    names = [name for group in recorded_features().values() for name in group]
    first = {name: features.check(name) for name in names}
    features.clear_cache()
    again = {name: features.check(name) for name in names}
    assert first == again
    for name, reason in first.items():
        assert reason is None or (isinstance(reason, str) and reason.strip()), name
    for kind in features.ATTACH_KINDS:
        assert features.has_attach(kind) is (first[f"attach:{kind}"] is None)
    for prog_type in ProgType:
        if prog_type is not ProgType.UNSPEC:
            assert features.has_prog_type(prog_type) is (
                first[f"prog_type:{prog_type.label}"] is None
            )


def test_record_the_answers_for_the_docs() -> None:
    folder = os.environ.get(RECORD_ENV)
    if not folder:
        pytest.skip(f"{RECORD_ENV} is not set: nothing to record")
    release = os.uname().release
    record = {
        "release": release,
        "version": os.uname().version,
        "recorded": datetime.date.today().isoformat(),
        "libbpf": libbpf_py.libbpf_version(),
        "features": {
            group: {name.partition(":")[2]: features.check(name) for name in names}
            for group, names in recorded_features().items()
        },
    }
    out = Path(folder, f"{release}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1, sort_keys=False) + "\n")
    assert json.loads(out.read_text())["release"] == release
