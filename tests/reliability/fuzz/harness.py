"""Coverage-guided fuzzing of the doors a BPF object enters by.

    python -m tests.reliability.fuzz.harness inspect|open|link [libFuzzer options] [CORPUS...]
    python -m tests.reliability.fuzz.harness replay-inspect|replay-open|replay-link FILE...

``inspect``: ``ObjectFile(data).inspect()`` (pure Python). ``open``: ``ObjectFile(data)
.open()`` then ``close()`` (libbpf's ELF and BTF parser). ``link``: ``link_objects`` of
the input alone and of the input twice (libbpf's static linker, which parses ELF, BTF
and BTF.ext on its own). Every input must end in a
success or a library error (:class:`libbpf_py.BpfError`); anything else (another
exception, a crash in C, a hang) is a finding: atheris writes the input to
``<-artifact_prefix>crash-<sha1>`` and exits non-zero. Run it in its own process (the
tests do), so a crash inside libbpf is caught, not fatal to the caller.

atheris instruments libbpf_py's Python code for coverage feedback. When it is not
installed the harness falls back to a plain mutation loop over the seeds (same targets,
same verdicts, no coverage feedback), so the suite still runs everywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

try:
    import atheris
except ImportError:  # pragma: no cover - depends on the installation
    atheris = None

if atheris is not None:
    with atheris.instrument_imports(include=["libbpf_py"]):
        import libbpf_py
        import libbpf_py.inspect
        import libbpf_py.linker
        import libbpf_py.open_object
else:
    import libbpf_py

from libbpf_py.errors import BpfError
from libbpf_py.inspect.disasm import instruction_text
from libbpf_py.inspect.jsonout import object_json


def fuzz_inspect(data: bytes) -> None:
    """One input through the pure-Python reader."""
    try:
        spec = libbpf_py.ObjectFile(data).inspect()
        # The JSON form walks everything the reader produced: programs with their decoded
        # instructions and relocations, maps, globals and every BTF type. A damage found
        # only there (a type loop in a global's type) is a library error too.
        object_json(spec, btf=True)
        for program in (*spec.programs.values(), *spec.subprograms.values()):
            for insn in program.instructions:
                instruction_text(insn)
    except BpfError:
        return


def fuzz_open(data: bytes) -> None:
    """One input through libbpf's parser (bpf_object__open_mem), then close."""
    try:
        opened = libbpf_py.ObjectFile(data).open()
    except BpfError:
        return
    with opened:
        for program in opened.programs.values():
            program.section  # noqa: B018 - reading what libbpf parsed
        for m in opened.maps.values():
            assert m.key_size >= 0 and m.value_size >= 0 and m.max_entries >= 0, m.type


def fuzz_link(data: bytes) -> None:
    """One input through libbpf's static linker: alone, then linked with itself."""
    for inputs in ([data], [data, data]):
        with contextlib.suppress(BpfError):
            libbpf_py.link_objects(inputs)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "inspect": fuzz_inspect,
    "open": fuzz_open,
    "link": fuzz_link,
}


def _plain_loop(target: Callable[[bytes], None], argv: list[str]) -> None:
    """Mutation fuzzing without coverage: flips, splices and truncations of the seeds."""
    runs, seconds, prefix, dirs = -1, 0.0, "", []
    for arg in argv:
        if arg.startswith("-runs="):
            runs = int(arg[6:])
        elif arg.startswith("-max_total_time="):
            seconds = float(arg[16:])
        elif arg.startswith("-artifact_prefix="):
            prefix = arg[17:]
        elif arg.startswith("-seed="):
            random.seed(int(arg[6:]))
        elif not arg.startswith("-"):
            dirs.append(Path(arg))
    seeds = [p.read_bytes() for d in dirs for p in sorted(d.iterdir()) if p.is_file()]
    seeds = seeds or [b"\x7fELF"]
    # An input that kills the process (a segfault in C) leaves no exception to catch: each
    # input is written here first, and removed once the loop ends cleanly.
    pending = Path(f"{prefix}crash-pending") if prefix else None
    start, done = time.monotonic(), 0
    while (runs < 0 or done < runs) and (not seconds or time.monotonic() - start < seconds):
        data = bytearray(random.choice(seeds))
        for _ in range(random.randint(1, 8)):
            how = random.random()
            if how < 0.6 and data:
                data[random.randrange(len(data))] = random.randrange(256)
            elif how < 0.8 and data:
                i = random.randrange(len(data))
                data[i : i + 4] = random.choice(
                    [b"\xff\xff\xff\xff", b"\0\0\0\0", b"\0\0\0\x80", b"\x01\0\0\0"]
                )
            elif how < 0.9:
                data = data[: random.randrange(len(data) + 1)]
            else:
                other = random.choice(seeds)
                i = random.randrange(len(other) + 1)
                data[i:] = other[i:]
        if pending is not None:
            pending.write_bytes(data)
        try:
            target(bytes(data))
        except BaseException:
            name = f"{prefix}crash-{hashlib.sha1(data).hexdigest()}"
            Path(name).write_bytes(data)
            print(f"==plain fuzzer== crash; input written to {name}", file=sys.stderr)
            raise
        done += 1
    if pending is not None:
        pending.unlink(missing_ok=True)
    print(f"Done {done} runs in {int(time.monotonic() - start)} second(s)", file=sys.stderr)


def _replay(target: Callable[[bytes], None], files: list[str]) -> None:
    """Run each file through the target once; a crash or a stray exception is fatal."""
    for name in files:
        target(Path(name).read_bytes())
    print(f"replayed {len(files)} input(s)", file=sys.stderr)


def main(argv: list[str]) -> None:
    """Run the named target with libFuzzer's command line."""
    if len(argv) >= 2 and argv[1].startswith("replay-") and argv[1][7:] in TARGETS:
        warnings.simplefilter("ignore")
        _replay(TARGETS[argv[1][7:]], argv[2:])
        return
    if len(argv) < 2 or argv[1] not in TARGETS:
        raise SystemExit(
            f"usage: {argv[0]} {{{'|'.join(TARGETS)}}} [libFuzzer options] [CORPUS...]"
        )
    target = TARGETS[argv[1]]
    warnings.simplefilter("ignore")  # libbpf's messages and ResourceWarnings are noise here
    import logging

    logging.getLogger("libbpf_py").setLevel(logging.CRITICAL + 1)
    rest = [argv[0], *argv[2:]]
    if atheris is None or os.environ.get("LIBBPF_PY_FUZZ_PLAIN") == "1":
        print("INFO: plain mutation loop (atheris not installed)", file=sys.stderr)
        _plain_loop(target, rest[1:])
        return
    atheris.Setup(rest, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
