"""Program output through the kernel's trace buffer: ``bpf_printk`` lines.

``bpf_printk`` writes into the global trace buffer; ``trace_pipe`` reads it and removes
what it read, so only one reader sees each line.
"""

from __future__ import annotations

import os
import re
import select
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from libbpf_py.errors import NotFound
from libbpf_py.mounts import ensure_tracefs

__all__ = ["TraceLine", "trace_pipe"]

# "  python3-1234  [001] d..31  5678.901234: bpf_trace_printk: the message"
_LINE = re.compile(
    r"^\s*(?P<task>.+?)-(?P<pid>\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[(?P<cpu>\d+)\]"
    r"\s+(?P<flags>\S+\s+)?(?P<time>[\d.]+):\s+(?P<event>[^:]+):\s?(?P<msg>.*)$"
)


@dataclass(frozen=True)
class TraceLine:
    """One line of trace_pipe; ``message`` is what the program printed."""

    task: str
    pid: int
    cpu: int
    timestamp: float
    event: str
    message: str
    raw: str

    def __str__(self) -> str:
        return self.message


def _tracefs() -> Path:
    root = Path(ensure_tracefs())
    if not (root / "trace_pipe").exists():
        raise NotFound(f"no trace_pipe under {root}: is tracefs mounted there?")
    return root


def parse_line(text: str) -> TraceLine:
    """Split one trace_pipe line into its fields (the message alone if it has no header)."""
    m = _LINE.match(text)
    if m is None:
        return TraceLine("", 0, -1, 0.0, "", text, text)
    return TraceLine(
        m["task"].strip(),
        int(m["pid"]),
        int(m["cpu"]),
        float(m["time"]),
        m["event"].strip(),
        m["msg"],
        text,
    )


def trace_pipe(timeout: float | None = None) -> Iterator[TraceLine]:
    """Yield lines as programs print them (``bpf_printk``), mounting tracefs if needed.

    Stops after ``timeout`` seconds without a line (None: never). Reading consumes
    the lines: any other reader of trace_pipe misses them.
    """
    root = _tracefs()
    on = root / "tracing_on"
    try:
        if on.read_text().strip() == "0":
            on.write_text("1")
    except OSError:
        pass
    fd = os.open(root / "trace_pipe", os.O_RDONLY | os.O_NONBLOCK)
    pending = b""
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while True:
            wait_ms = None if timeout is None else max(0, int(timeout * 1000))
            start = time.monotonic()
            if not poller.poll(wait_ms):
                if timeout is not None and time.monotonic() - start >= timeout:
                    return
                continue
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line.strip():
                    yield parse_line(line.decode("utf-8", "replace"))
    finally:
        os.close(fd)
