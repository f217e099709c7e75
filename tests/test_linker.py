"""libbpf's static linker through link_objects(): two objects become one that inspects,
opens, loads and runs like the object compiled from both sources at once."""

from __future__ import annotations

from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import link_objects
from libbpf_py.errors import NotFound, ObjectFormatError
from libbpf_py.inspect import read_object
from libbpf_py.packets import ethernet, ipv4, udp
from tests.conftest import requires_root

SOURCES = Path(__file__).resolve().parent / "bpf" / "linker"
XDP_DROP, XDP_PASS = 1, 2
SHORT = ethernet(
    ipv4(udp(b"x", src="198.18.12.2", dst="198.18.12.1"), src="198.18.12.2", dst="198.18.12.1")
)
LONG = ethernet(
    ipv4(
        udp(b"x" * 120, src="198.18.12.2", dst="198.18.12.1"), src="198.18.12.2", dst="198.18.12.1"
    )
)


@pytest.fixture(scope="module")
def halves(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("linker")
    return {
        name: libbpf_py.compile(SOURCES / f"{name}.bpf.c", out / f"{name}.bpf.o")
        for name in ("classify", "filter", "clash")
    }


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both halves as one translation unit, compiled at once: what linking must equal."""
    text = "\n".join((SOURCES / f"{name}.bpf.c").read_text() for name in ("classify", "filter"))
    return libbpf_py.compile(text, tmp_path_factory.mktemp("whole") / "whole.bpf.o")


def _runs(source: bytes | Path) -> list[object]:
    """What the object does: verdicts of a short and a long packet, and its counters."""
    with libbpf_py.ObjectFile(source).open() as opened, opened.load() as obj:
        obj.maps["verdicts"][0] = XDP_PASS
        obj.maps["verdicts"][1] = XDP_DROP
        prog = obj.programs["linked_filter"]
        verdicts = [prog.test_run(packet).retval for packet in (SHORT, LONG, SHORT)]
        return [verdicts, obj.bss.classified, obj.bss.filtered, obj.bss.seen_by_filter]


def test_the_linked_object_reads_like_both_halves(halves: dict[str, Path]) -> None:
    data = link_objects([halves["classify"], halves["filter"]])
    assert isinstance(data, bytes) and data[:4] == b"\x7fELF"
    spec = read_object(data)
    assert set(spec.programs) == {"linked_filter"}
    assert "verdicts" in spec.maps
    assert {"classified", "filtered", "seen_by_filter"} <= set(spec.globals)
    # The extern resolved: no unresolved symbol is left for libbpf to find at open.
    assert not [name for name, var in spec.globals.items() if var.linkage == "extern"]


@pytest.mark.usefixtures("no_fd_leak")
@requires_root
def test_linked_runs_like_one_compiled_object(halves: dict[str, Path], whole: Path) -> None:
    linked = link_objects([halves["classify"], halves["filter"]])
    expected = [[XDP_PASS, XDP_DROP, XDP_PASS], 3, 3, 2]
    assert _runs(whole) == expected
    assert _runs(linked) == expected
    # Inputs given as bytes link to the same object.
    from_bytes = link_objects([halves["classify"].read_bytes(), halves["filter"].read_bytes()])
    assert _runs(from_bytes) == expected


def test_output_is_written_only_when_the_link_succeeds(
    halves: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "linked.bpf.o"
    assert link_objects([halves["classify"], halves["filter"]], out) == out
    assert read_object(out.read_bytes()).programs.keys() == {"linked_filter"}
    assert oct(out.stat().st_mode & 0o777) == oct(0o644)
    before = out.read_bytes()
    with pytest.raises(ObjectFormatError):
        link_objects([halves["classify"], halves["clash"]], out)
    assert out.read_bytes() == before  # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["linked.bpf.o"]  # no temp left


def test_two_definitions_of_a_symbol_name_it(halves: dict[str, Path]) -> None:
    with pytest.raises(ObjectFormatError, match="classify") as caught:
        link_objects([halves["classify"], halves["clash"]])
    assert str(halves["clash"]) in str(caught.value)


@pytest.mark.parametrize("bad", [b"", b"not an ELF object", b"\x7fELF" + b"\0" * 60])
def test_bad_input_is_a_library_error(halves: dict[str, Path], bad: bytes) -> None:
    with pytest.raises(ObjectFormatError, match="object #2"):
        link_objects([halves["classify"], bad])


def test_wrong_arguments_say_what_is_expected(halves: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one"):
        link_objects([])
    with pytest.raises(TypeError, match="a list of objects"):
        link_objects(halves["classify"])  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="path or bytes"):
        link_objects([halves["classify"], 3])  # type: ignore[list-item]
    with pytest.raises(NotFound, match="no such object file"):
        link_objects([halves["classify"], tmp_path / "missing.o"])
