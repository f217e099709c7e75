"""The C fast path of ``Program.test_run``: Python-callable functions from csrc/fastcall.c.

CFFI cannot pass Python objects to C, so the C side puts its functions into this module
when it is imported (``lpy_fastcall_install``) — no ctypes, no address passing.

- :func:`install_test_run` makes ``Program.test_run`` a C method (a method descriptor)
  that runs ``test_run(packet)`` and ``test_run(packet, repeat=n)`` itself when the
  Python method's own checks would let them take its fast path, and calls the Python
  method for everything else.
- ``test_run_packet(fd, data, repeat)`` runs ``BPF_PROG_TEST_RUN`` on ``data`` (exactly
  ``bytes``, 1 to 2048 bytes; the GIL is released when ``repeat`` > 1), and returns the
  bound result class ``(retval, data_out, None, duration_ns, None)``; or an ``int``: 0
  when the arguments are not for this path (the caller takes its general one), else the
  errno of a failed run (the program may have run: raise, do not retry).
- ``bind_result_type(cls)`` names that result class, once.
- ``fast_calls()`` counts the calls the C method ran itself, so that a test sees the
  fast path taken (tests/execute/test_fastcall.py).

The C side reads no Python name of its own: :func:`install_test_run` tells it which
attribute holds the fd it may run on, and which entry of which dict turns it off.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from libbpf_py._lowlevel.loader import lib

__all__ = [
    "FAST_MAX",
    "HEADROOM",
    "bind_result_type",
    "fast_calls",
    "install_test_run",
    "test_run_packet",
]

FAST_MAX = 2048  # LPY_FAST_MAX in csrc/fastcall.c
HEADROOM = 4096  # LPY_HEADROOM in csrc/fastcall.c

# Set by lpy_fastcall_install below; the annotations are for type checkers.
test_run_packet: Callable[[int, bytes, int], Any]
fast_calls: Callable[[], int]
_bind: Callable[[type], None]
_make_method: Callable[
    [type, Callable[..., Any], Callable[..., Any], str, dict[str, bool], str, bytes], Any
]

if lib.lpy_fastcall_install(__name__.encode()) != 0:  # pragma: no cover - out of memory
    raise ImportError("libbpf_py: installing the C fast path of test_run failed")
_bind = globals().pop("bind_result_type")
_make_method = globals().pop("make_method")


def bind_result_type(cls: type[tuple[Any, ...]]) -> None:
    """Make ``test_run_packet`` return instances of ``cls``, a five-field NamedTuple.

    The C side allocates the result as ``tuple.__new__`` does, so ``cls`` must add no
    instance storage to ``tuple`` (no ``__dict__``, no slots) and have five fields.
    """
    fields = getattr(cls, "_fields", ())
    if cls.__base__ is not tuple or cls.__basicsize__ != tuple.__basicsize__ or len(fields) != 5:
        raise TypeError(f"{cls.__name__} is not a five-field NamedTuple")
    _bind(cls)


def install_test_run(
    cls: type[Any],
    general: Callable[..., Any],
    on_failure: Callable[[Any, int, bytes], Any],
    *,
    ready: str,
    gate: dict[str, bool],
    gate_key: str,
) -> None:
    """Make ``cls.test_run`` the C method in front of ``general``, the Python one.

    The C method runs the program on the fd in the instance attribute ``ready`` (an
    ``int``: -1, or anything else, means "not now"), while ``gate[gate_key]`` is
    ``False``, for exact ``bytes`` of 1 to :data:`FAST_MAX` bytes and no keyword but
    ``repeat``; it calls ``general`` with the arguments as given otherwise. A failed fast
    run calls ``on_failure(program, errno, data)``, which raises. ``help()`` and
    ``inspect.signature`` see ``general``'s docstring and signature (without
    annotations).
    """
    if not (ready.isidentifier() and gate_key in gate):
        raise ValueError(
            f"install_test_run: {ready!r} is no attribute name, or {gate_key!r} is not in the gate"
        )
    sig = inspect.signature(general)
    params = list(sig.parameters.values())
    plain = sig.replace(
        parameters=[p.replace(annotation=inspect.Parameter.empty) for p in params[1:]],
        return_annotation=inspect.Signature.empty,
    )
    # A C function's __text_signature__ is its doc's first line, "--" closing it; "$self"
    # is the bound argument, "/" ends the positional-only ones.
    text = f"test_run($self, /, {str(plain)[1:]}\n--\n\n"
    doc = text + inspect.cleandoc(general.__doc__ or "")
    cls.test_run = _make_method(cls, general, on_failure, ready, gate, gate_key, doc.encode())
