"""Every example in docs/ runs on the real kernel, so the documentation cannot rot.

Rules (also in docs/reference/examples.md):

- ```python blocks of a page run in order in one namespace, like a notebook; a block
  whose first line is ``# file: NAME`` is written to NAME instead (so is a ```c block
  starting ``// file: NAME``);
- ```pycon blocks are doctests in the same namespace;
- ```console blocks: every ``$ `` line runs in bash and must exit 0, or the status a
  trailing ``# exit N`` names;
- ``<!-- docs-test: skip -->`` just before a block skips it;
- the working directory holds docs/_examples/*.bpf.c and the demo's xdp_filter.bpf.c,
  each also compiled beside it (NAME.bpf.o).
"""

from __future__ import annotations

import doctest
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
SKIP = "<!-- docs-test: skip -->"
FILE_MARK = re.compile(r"^(#|//) file: (?P<name>[\w.\-/]+)\s*$")
EXIT_MARK = re.compile(r"\s+# exit (?P<code>\d+)\s*$")


@dataclass
class Block:
    lang: str
    code: str
    line: int
    skip: bool


def blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown page (MyST directives excluded)."""
    found: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info, start = m["fence"], m["info"].strip(), i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][len(m["indent"]) :])
            i += 1
        i += 1
        previous = next((ln.strip() for ln in reversed(lines[:start]) if ln.strip()), "")
        lang = info.split()[0] if info else ""
        if not lang.startswith("{"):
            found.append(Block(lang, "\n".join(body) + "\n", start + 1, previous == SKIP))
    return found


def pages() -> list[Path]:
    return sorted(
        p for p in DOCS.rglob("*.md") if "_build" not in p.parts and "_examples" not in p.parts
    )


RUNNABLE = {"python", "py", "pycon", "console", "c"}


@pytest.fixture(scope="session")
def example_objects(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from libbpf_py import compile
    from libbpf_py.demo import filter_source

    out = tmp_path_factory.mktemp("docs-examples")
    for src in [*sorted((DOCS / "_examples").glob("*.bpf.c")), filter_source()]:
        shutil.copy(src, out / src.name)
        compile(out / src.name, out / src.name.replace(".bpf.c", ".bpf.o"))
    return out


def _run_console(block: Block, where: str, cwd: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    for n, raw in enumerate(block.code.splitlines()):
        if not raw.startswith("$ "):
            continue
        command = raw[2:]
        expected = 0
        m = EXIT_MARK.search(command)
        if m:
            expected = int(m["code"])
            command = command[: m.start()]
        proc = subprocess.run(
            ["bash", "-c", command],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == expected, (
            f"{where}+{n}: `{command}` exited {proc.returncode}, expected {expected}\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )


def run_page(page: Path, cwd: Path) -> int:
    """Run every runnable block of ``page`` in ``cwd``; returns how many ran."""
    namespace: dict[str, object] = {"__name__": f"docs.{page.stem}"}
    ran = 0
    for block in blocks(page.read_text()):
        if block.skip or block.lang not in RUNNABLE:
            continue
        where = f"{page.relative_to(REPO) if page.is_relative_to(REPO) else page}:{block.line}"
        first = block.code.splitlines()[0] if block.code.strip() else ""
        mark = FILE_MARK.match(first)
        if mark:
            target = cwd / mark["name"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.code.split("\n", 1)[1])
        elif block.lang == "c":
            continue  # C shown for reading, not named as a file
        elif block.lang in ("python", "py"):
            exec(compile(block.code, where, "exec"), namespace)
        elif block.lang == "pycon":
            parser, runner = (
                doctest.DocTestParser(),
                doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE),
            )
            test = parser.get_doctest(block.code, namespace, where, where, block.line)
            result = runner.run(test, clear_globs=False)
            assert result.failed == 0, f"{where}: {result.failed} doctest example(s) failed"
        else:
            _run_console(block, where, cwd)
        ran += 1
    return ran


RUNNABLE_PAGES = [
    p for p in pages() if any(b.lang in RUNNABLE and not b.skip for b in blocks(p.read_text()))
]


@pytest.mark.requires_root
@pytest.mark.parametrize("page", RUNNABLE_PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_page_examples_run(
    page: Path,
    example_objects: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    bpf_leak_check: None,
) -> None:
    for item in example_objects.iterdir():
        shutil.copy(item, tmp_path / item.name)
    monkeypatch.chdir(tmp_path)
    assert run_page(page, tmp_path) > 0


def test_the_runner_finds_blocks_and_skips() -> None:
    text = (
        "# T\n\n```python\nx = 1\n```\n\n<!-- docs-test: skip -->\n```python\nboom\n```\n"
        "```{graphviz} a.dot\n```\n"
    )
    found = blocks(text)
    assert [(b.lang, b.skip, b.line) for b in found] == [("python", False, 3), ("python", True, 8)]


def test_every_page_is_in_the_site() -> None:
    """A page outside every toctree would be built with a warning (an error in CI)."""
    index = (DOCS / "index.md").read_text()
    assert ":glob:" in index


def test_a_broken_example_fails(tmp_path: Path) -> None:
    page = tmp_path / "broken.md"
    page.write_text("# Broken\n\n```python\nimport libbpf_py\nlibbpf_py.no_such_call()\n```\n")
    with pytest.raises(AttributeError):
        run_page(page, tmp_path)
    page.write_text("# Broken\n\n```console\n$ false\n```\n")
    with pytest.raises(AssertionError, match="`false` exited 1, expected 0"):
        run_page(page, tmp_path)
    page.write_text("# Fine\n\n```console\n$ false  # exit 1\n```\n")
    assert run_page(page, tmp_path) == 1
