"""Lookups by name: an unknown map, program, global or section is a ``KeyError`` that
names what exists (``NameNotFound``), in every phase that has the collection."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import libbpf_py
from libbpf_py import BpfError, LoadedObject, NameNotFound, ObjectFile
from libbpf_py.errors import NameTable, unknown_name_message
from tests.conftest import requires_root


def expect_unknown(
    table: Any, name: str, kind: str, where: str, names: list[str] | None = None
) -> NameNotFound:
    """Look ``name`` up in ``table`` and check the error says what the table holds."""
    with pytest.raises(NameNotFound) as info:
        table[name]
    error = info.value
    assert isinstance(error, KeyError) and isinstance(error, BpfError)
    known = list(table) if names is None else names
    assert error.name == name and list(error.names) == known and error.kind == kind
    text = str(error)
    assert text.startswith(f"no {kind} {name!r} in {where}")
    assert text.endswith(f"; it has: {', '.join(known)}" if known else f"; it has no {kind}s")
    assert not text.startswith(("'", '"'))  # not KeyError's quoting of its argument
    return error


def test_the_error_message_reads_well() -> None:
    error = NameNotFound("map", "blocklst", "object xdp_filter", ["blocklist", "counters"])
    assert str(error) == (
        "no map 'blocklst' in object xdp_filter (did you mean 'blocklist'?); "
        "it has: blocklist, counters"
    )
    assert error.args == (str(error),)
    # Far from every name: no guess, only the list.
    assert str(NameNotFound("map", "zzz", "object o", ["hits"])) == (
        "no map 'zzz' in object o; it has: hits"
    )
    assert str(NameNotFound("program", "p", "object o", [])) == (
        "no program 'p' in object o; it has no programs"
    )
    # A non-string key is shown as Python would write it.
    assert str(NameNotFound("map", 0, "object o", ["hits"])) == "no map 0 in object o; it has: hits"
    many = [f"map{i:02}" for i in range(30)]
    text = unknown_name_message("map", "nosuch", "object big", many)
    assert text.endswith(f"it has: {', '.join(many[:20])} and 10 more")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is NameNotFound and str(again) == str(error) and again.names == error.names


def test_a_name_table_is_a_dict_otherwise() -> None:
    table = NameTable([("a", 1), ("b", 2)], kind="map", where="object o")
    assert table == {"a": 1, "b": 2} and isinstance(table, dict)
    assert table.get("c") is None and "c" not in table
    assert table.get("a") == 1 and table["b"] == 2
    expect_unknown(table, "c", "map", "object o")
    with pytest.raises(KeyError):  # code that knows only the builtin still catches it
        table["c"]


def test_the_specs_of_an_object_file(bpf_objects: dict[str, Path]) -> None:
    spec = ObjectFile(bpf_objects["lifecycle"]).inspect()
    where = f"object {spec.name}"
    error = expect_unknown(spec.maps, "hit", "map", where)
    assert "(did you mean 'hits'?)" in str(error)
    expect_unknown(spec.programs, "pass_al", "program", where)
    expect_unknown(spec.globals, "my_pd", "global variable", where)
    expect_unknown(spec.subprograms, "helper", "subprogram", where)
    assert spec.function("pass_all") is spec.programs["pass_all"]
    with pytest.raises(NameNotFound, match="no function 'nope' in object lifecycle"):
        spec.function("nope")


@requires_root
@pytest.mark.usefixtures("no_fd_leak")
def test_the_maps_and_programs_of_an_open_object(bpf_objects: dict[str, Path]) -> None:
    with ObjectFile(bpf_objects["lifecycle"]).open() as opened:
        where = f"object {opened.name}"
        assert list(opened.maps)[:2] == ["hits", "small"]
        error = expect_unknown(opened.maps, "nosuch", "map", where)
        assert str(error).startswith("no map 'nosuch' in object lifecycle; it has: hits, small")
        expect_unknown(opened.programs, "drop", "program", where)
        assert opened.maps.get("nosuch") is None and "nosuch" not in opened.maps


@pytest.fixture
def loaded(bpf_objects: dict[str, Path]) -> Iterator[LoadedObject]:
    with ObjectFile(bpf_objects["lifecycle"]).open() as opened, opened.load() as loaded:
        yield loaded


@requires_root
@pytest.mark.usefixtures("no_fd_leak")
def test_the_maps_and_programs_of_a_loaded_object(loaded: LoadedObject) -> None:
    where = f"object {loaded.name}"
    error = expect_unknown(loaded.maps, "smal", "map", where)
    assert "(did you mean 'small'?)" in str(error)
    error = expect_unknown(loaded.programs, "count_getpd", "program", where)
    assert "(did you mean 'count_getpid'?)" in str(error)
    # The maps found by name are the live ones.
    loaded.maps["hits"][0] = 3
    assert loaded.maps["hits"][0] == 3


@requires_root
@pytest.mark.usefixtures("no_fd_leak")
def test_globals_sections_and_variables(loaded: LoadedObject) -> None:
    where = f"object {loaded.name}"
    names = list(loaded.globals)
    assert "my_pid" in names
    error = expect_unknown(loaded.globals, "my_pd", "global variable", where, names)
    assert "(did you mean 'my_pid'?)" in str(error)
    with pytest.raises(NameNotFound):
        loaded.globals["my_pd"] = 1
    # Attribute access stays an AttributeError (getattr and hasattr rely on it), worded
    # the same.
    with pytest.raises(AttributeError) as attr:
        loaded.globals.my_pd  # noqa: B018
    assert str(attr.value) == str(error)
    sections = loaded.globals.sections
    expect_unknown(sections, ".nosuch", "global section", where)
    section_name = next(name for name, sec in sections.items() if "my_pid" in sec)
    section = sections[section_name]
    error = expect_unknown(section, "my_pd", "variable", section_name)
    with pytest.raises(NameNotFound):
        section["my_pd"] = 1
    with pytest.raises(AttributeError, match="no variable 'my_pd'"):
        section.my_pd  # noqa: B018
    with pytest.raises(AttributeError, match=r"no global section '\.nosuch' in object"):
        loaded.section(".nosuch")
    section["my_pid"] = 42  # the known name still works both ways
    assert loaded.globals["my_pid"] == 42 == loaded.globals.my_pid


def test_the_error_is_exported() -> None:
    assert libbpf_py.NameNotFound is libbpf_py.errors.NameNotFound
    assert "NameNotFound" in libbpf_py.errors.__all__
