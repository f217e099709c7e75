"""Verifier logs: complete past 16 MiB, the same verdict with logging on and off, and the
kernel's errno never replaced by ENOSPC.

libbpf starts with a 16 MiB log buffer and grows it when the kernel answers ENOSPC; a log
cut at 16 MiB, or an ENOSPC surfacing instead of the verifier's EACCES, would be the
failure. Completeness is checked by counting: at log level 1 the verifier prints one
line per instruction it processed, and ends with ``processed N insns``.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py.errors import VerifierError
from tests.reliability.conftest import HERE, Figures

pytestmark = pytest.mark.usefixtures("root_only", "bpf_leak_check")

MIB = 1 << 20
INSN_LINE = re.compile(r"^\d+: \(")
PROCESSED = re.compile(r"^processed (\d+) insns")


@pytest.fixture(scope="module")
def verifier_objects(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    out = tmp_path_factory.mktemp("verifier")
    src = HERE / "bpf" / "verifier.bpf.c"
    return {
        n: libbpf_py.compile(src, out / f"verifier{n}.o", cflags=[f"-DITERATIONS={n}"])
        for n in (20, 6000, 20000)
    }


def _load(path: Path, program: str, log_level: int) -> tuple[bool, list[str], int | None]:
    """Load one program of the object: (accepted, log, errno)."""
    with libbpf_py.ObjectFile(path).open() as opened:
        if program in opened.programs:
            opened.programs[program].autoload = True
        try:
            loaded = opened.load(log_level=log_level)
        except VerifierError as exc:
            return False, exc.log, exc.errno
    with loaded:
        return True, loaded.programs[program].verifier_log, None


def _size(log: list[str]) -> int:
    return sum(len(line) + 1 for line in log)


def _complete(log: list[str]) -> int:
    """Check the log is whole: one line per processed instruction; return its count."""
    match = PROCESSED.match(log[-1])
    assert match, f"the log does not end with the verifier's summary: {log[-3:]}"
    processed = int(match.group(1))
    assert sum(1 for line in log if INSN_LINE.match(line)) == processed
    return processed


def test_rejection_log_past_16_mib_is_complete(
    verifier_objects: dict[int, Path], figures: Figures
) -> None:
    accepted, log, err = _load(verifier_objects[20000], "long_bad", 0)
    assert not accepted
    assert err == errno.EACCES, f"errno {err} instead of EACCES (ENOSPC would mask it)"
    assert _size(log) > 16 * MIB
    assert _complete(log) > 200_000
    # The log ends with the rejection itself, in each kernel's words: "R1 offset is
    # outside of the packet" (6.1 to 6.18), "R1 min value is outside of the allowed
    # memory range" (7.2).
    assert re.fullmatch(r"R1 .*is outside of the (packet|allowed memory range)", log[-2]), log[-2]
    figures.add("verifier.largest_log_bytes", _size(log))


def test_success_log_past_16_mib_is_complete(verifier_objects: dict[int, Path]) -> None:
    accepted, log, err = _load(verifier_objects[6000], "long_ok", 2)
    assert accepted and err is None
    assert _size(log) > 16 * MIB
    assert PROCESSED.match(log[-1])
    assert log[0].startswith("func#0")


@pytest.mark.parametrize(
    ("iterations", "program"),
    [(20, "long_ok"), (20, "long_bad"), (6000, "long_ok"), (20000, "long_bad")],
)
def test_same_verdict_with_logging_on_and_off(
    verifier_objects: dict[int, Path], iterations: int, program: str, figures: Figures
) -> None:
    verdicts = {}
    for level in (0, 1, 2) if iterations < 20000 else (0, 1):
        accepted, log, err = _load(verifier_objects[iterations], program, level)
        verdicts[level] = (accepted, err)
        assert err != errno.ENOSPC
        if not accepted:
            assert log, "a rejection always carries the log"
        figures.add("verifier.loads_compared")
    assert len(set(verdicts.values())) == 1, verdicts


def test_bad_access_object_same_errno_every_level(bpf_objects: dict[str, Path]) -> None:
    errs = {
        level: _load(bpf_objects["bad_access"], "read_without_check", level)[2]
        for level in (0, 1, 2)
    }
    assert set(errs.values()) == {errno.EACCES}, errs
