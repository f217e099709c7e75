"""libbpf's messages: forwarded to ``logging``, with verifier logs (and, where a call's
error is only explained in libbpf's warnings, those warnings) captured per thread.

libbpf prints through one process-wide callback. Its print callback takes a ``va_list``,
so a C trampoline (csrc/helpers.c) formats each message and calls :func:`_on_print`.
The callback runs in the thread that called libbpf, so a load in one thread captures its
own verifier logs in a thread-local list, whatever other threads do meanwhile.
"""

from __future__ import annotations

import functools
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from libbpf_py._lowlevel.loader import ffi, lib

if TYPE_CHECKING:
    import logging

# logging is imported by the first message or level check that needs it, not by every
# ``import libbpf_py`` (tests/test_import_time.py). libbpf's three levels become logging's
# WARNING, INFO and DEBUG, whose numbers the logging API fixes.
_WARNING, _INFO, _DEBUG = 30, 20, 10
_LEVELS = {0: _WARNING, 1: _INFO, 2: _DEBUG}
_LOG_BLOCK = re.compile(
    r"^(?:libbpf: )?prog '(?P<prog>[^']*)': -- BEGIN PROG LOAD LOG --\n"
    r"(?P<log>.*)-- END PROG LOAD LOG --\n?$",
    re.S,
)
_local = threading.local()


@functools.cache
def _logger() -> logging.Logger:
    import logging

    return logging.getLogger("libbpf_py.libbpf")


def _captures() -> list[dict[str, list[str]]]:
    stack: list[dict[str, list[str]]] | None = getattr(_local, "captures", None)
    if stack is None:
        stack = _local.captures = []
    return stack


def _warning_lists() -> list[list[str]]:
    stack: list[list[str]] | None = getattr(_local, "warnings", None)
    if stack is None:
        stack = _local.warnings = []
    return stack


@ffi.def_extern()  # type: ignore[untyped-decorator]
def lpy_on_print(level: int, msg: object, length: int) -> None:
    """Receive one formatted libbpf message (called from C; never raises)."""
    logger = _logger()
    try:
        text = ffi.unpack(msg, length).decode("utf-8", "replace")
        block = _LOG_BLOCK.match(text)
        stack = _captures()
        if block is not None:
            lines = block.group("log").splitlines()
            if stack:
                stack[-1][block.group("prog")] = lines
            logger.log(
                _LEVELS.get(level, _DEBUG) if not stack else _DEBUG,
                "prog %r: verifier log (%d lines)%s",
                block.group("prog"),
                len(lines),
                "" if stack else ":\n" + block.group("log"),
            )
            return
        if level == 0:
            for found in _warning_lists():
                found.append(text.rstrip("\n").removeprefix("libbpf: "))
        logger.log(_LEVELS.get(level, _DEBUG), "%s", text.rstrip("\n"))
    except Exception:  # pragma: no cover - a callback from C must not raise
        logger.exception("failed to handle a libbpf message")


def update_print_level(*, want_debug: bool = False) -> None:
    """Let C drop messages nobody will read, so quiet runs stay fast."""
    if want_debug:
        level = 2
    elif "logging" not in sys.modules:
        # Nothing can have asked for libbpf's info or debug messages without importing
        # logging, so its defaults hold: warnings only.
        level = 0
    elif (logger := _logger()).isEnabledFor(_DEBUG):
        level = 2
    elif logger.isEnabledFor(_INFO):
        level = 1
    else:
        level = 0
    lib.lpy_print_set_level(level)


@contextmanager
def capture_program_logs(*, want_debug: bool = False) -> Iterator[dict[str, list[str]]]:
    """Collect, per program name, the verifier logs libbpf prints in this thread."""
    logs: dict[str, list[str]] = {}
    stack = _captures()
    stack.append(logs)
    update_print_level(want_debug=want_debug)
    try:
        yield logs
    finally:
        stack.pop()
        update_print_level()


@contextmanager
def capture_warnings() -> Iterator[list[str]]:
    """Collect the warnings libbpf prints in this thread (they still reach the logger):
    for calls such as the linker's, whose errno alone does not say what was wrong."""
    found: list[str] = []
    stack = _warning_lists()
    stack.append(found)
    try:
        yield found
    finally:
        stack.pop()


lib.lpy_print_install()
update_print_level()
