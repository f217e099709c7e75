"""Teaching mode: every phase transition narrates the libbpf call it made.

``libbpf_py.explain()`` switches it on (and, used as a context manager, off again);
``LIBBPF_PY_EXPLAIN=1`` switches it on at import. Narration goes to the logger
``libbpf_py.explain``; the CLI and the demo print it to stderr.
"""

from __future__ import annotations

import os
import threading
from types import TracebackType

__all__ = ["explain", "explaining", "narrate"]

# logging is imported by the first narration, not here: every ``import libbpf_py``
# imports this module, and most never switch teaching mode on (tests/test_import_time.py).
_LOGGER_NAME = "libbpf_py.explain"
_state = {"on": os.environ.get("LIBBPF_PY_EXPLAIN", "") not in ("", "0")}
_lock = threading.Lock()


def explaining() -> bool:
    """Whether teaching mode is on."""
    return _state["on"]


def narrate(call: str, result: str, *, phase: str = "") -> None:
    """Log one libbpf call and what came back, if teaching mode is on."""
    if _state["on"]:
        import logging

        prefix = f"[{phase}] " if phase else ""
        logging.getLogger(_LOGGER_NAME).info("%s%s -> %s", prefix, call, result)


class explain:
    """Switch teaching mode on; as a context manager, restore the previous state on exit.

    >>> import libbpf_py
    >>> with libbpf_py.explain():
    ...     libbpf_py.explaining()
    True
    """

    def __init__(self, on: bool = True) -> None:
        with _lock:
            self._previous = _state["on"]
            _state["on"] = on

    def __enter__(self) -> explain:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with _lock:
            _state["on"] = self._previous
