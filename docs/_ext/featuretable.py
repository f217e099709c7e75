"""A Sphinx directive that shows which kernel has which feature, from recorded probes.

``tests/attach/test_feature_record.py``, run with ``LIBBPF_PY_RECORD_FEATURES=<dir>``
inside a kernel, writes that kernel's answers of :mod:`libbpf_py.features` to
``<dir>/<release>.json``. The committed files live in ``docs/_data/features/``;
``.. feature-table::`` renders one table per group of features (attach kinds, bpf()
commands, iterator targets, program and map types) with a column per kernel, oldest
first, and then lists every refusal with the reason the kernel gave.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

DATA = Path(__file__).resolve().parents[1] / "_data" / "features"
GROUPS = {
    "attach": "Attach kinds (features.check('attach:<kind>'))",
    "command": "bpf() commands (features.check('command:<name>'))",
    "iter": "Iterator targets the suite uses (features.check('iter:<target>'))",
    "prog_type": "Program types (features.check('prog_type:<name>'))",
    "map_type": "Map types (features.check('map_type:<name>'))",
}
_ERRNO = re.compile(r"\b(E[A-Z]{2,}|ENOTSUPP)\b")


def _version_key(record: dict[str, Any]) -> tuple[int, ...]:
    numbers = re.match(r"[\d.]+", record["release"])
    return tuple(int(n) for n in numbers.group(0).strip(".").split(".")) if numbers else ()


def kernel_label(record: dict[str, Any]) -> str:
    """A column heading: the release and where it ran (a Debian release or the host)."""
    release = record["release"]
    debian = re.search(r"\+deb(\d+)-", release)
    if debian:
        where = f"Debian {debian.group(1)}"
    elif re.match(r"^6\.1\.0-\d+-amd64$", release):
        where = "Debian 12"
    else:
        where = "the project's host"
    return f"{release} ({where})"


def short_reason(reason: str | None) -> str:
    """A table cell: ``yes``, or ``no`` with the kernel's answer in a word or two."""
    if reason is None:
        return "yes"
    if "lockdown" in reason:
        return "no: lockdown"
    if "not set in" in reason:
        return "no: not built"
    if "BTF has no" in reason:
        return "no: not in BTF"
    found = _ERRNO.search(reason)
    return f"no: {found.group(1)}" if found else "no"


def _table(headings: list[str], rows: list[list[str]]) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=len(headings))
    table += group
    for _ in headings:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    group += head
    body = nodes.tbody()
    group += body
    for target, cells in ((head, [headings]), (body, rows)):
        for cells_of_row in cells:
            row = nodes.row()
            for text in cells_of_row:
                entry = nodes.entry()
                entry += nodes.paragraph(text=text)
                row += entry
            target += row
    return table


class FeatureTable(SphinxDirective):
    """``.. feature-table::`` — the recorded feature probes, a column per kernel."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        """A section per feature group, then the full reasons per kernel."""
        files = sorted(DATA.glob("*.json")) if DATA.is_dir() else []
        if not files:
            return [
                nodes.paragraph(
                    text="No feature probes are recorded in this checkout: "
                    "run tests/attach/test_feature_record.py with "
                    "LIBBPF_PY_RECORD_FEATURES=docs/_data/features."
                )
            ]
        records = []
        for path in files:
            self.env.note_dependency(str(path))
            records.append(json.loads(path.read_text()))
        records.sort(key=_version_key)
        headings = ["feature"] + [kernel_label(r) for r in records]
        out: list[nodes.Node] = []
        for group, title in GROUPS.items():
            names: list[str] = []
            for record in records:
                names += [n for n in record["features"].get(group, {}) if n not in names]
            if not names:
                continue
            rows = [
                [name]
                + [
                    short_reason(r["features"].get(group, {}).get(name))
                    if name in r["features"].get(group, {})
                    else "not recorded"
                    for r in records
                ]
                for name in names
            ]
            section = nodes.section(ids=[nodes.make_id(f"features-{group}")])
            section += nodes.title(text=title)
            section += _table(headings, rows)
            out.append(section)
        section = nodes.section(ids=["features-reasons"])
        section += nodes.title(text="What each kernel answered where it said no")
        for record in records:
            refused = [
                (f"{group}:{name}", reason)
                for group, answers in record["features"].items()
                for name, reason in answers.items()
                if reason is not None
            ]
            para = nodes.paragraph()
            para += nodes.strong(text=kernel_label(record))
            para += nodes.Text(
                f", recorded {record.get('recorded', '?')} with libbpf "
                f"{record.get('libbpf', '?')}: "
                f"{len(refused) or 'no'} refusal{'s' if len(refused) != 1 else ''}"
            )
            section += para
            if refused:
                items = nodes.bullet_list()
                for feature, reason in refused:
                    item = nodes.list_item()
                    text = nodes.paragraph()
                    text += nodes.literal(text=feature)
                    text += nodes.Text(f": {reason}")
                    item += text
                    items += item
                section += items
        out.append(section)
        return out


def setup(app: Any) -> dict[str, Any]:
    """Register the directive."""
    app.add_directive("feature-table", FeatureTable)
    return {"parallel_read_safe": True, "version": "1"}
