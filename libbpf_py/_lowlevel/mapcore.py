"""The C half of fast maps: :class:`MapCore`, a base type from csrc/mapcore.c.

A map class that derives from ``MapCore`` (before its Python base) gets ``m[k]``,
``m.get(k[, default])``, ``k in m``, ``m[k] = v``, ``m.update(k, v[, flags])`` and
``del m[k]`` as single C calls: the key is encoded from the Python value into a stack
buffer, the syscall runs with the GIL held, and the value comes back as the engine's own
Python types. C takes only the cases it is sure of (exact ints in range, exact-size
bytes, the struct's own class or a plain tuple of plain fields) and hands every other
call — another type, a value out of range, a closed map, a failed syscall — to the
general Python method of the same name, with the same arguments. So the Python methods
stay the one definition of results and errors.

The instance learns its fd and its codecs' *plans* from ``_core_bind(fd, key_plan,
value_plan, ncpus, percpu_class)`` and forgets them in ``_core_close()``. A plan is the
layout a codec's ``plan()`` returns (``None``: not for C):

- ``("int", size, signed)``: an int of 1, 2, 4 or 8 bytes in the host's byte order;
- ``("enum", size, signed, by_value)``: the same, decoded to ``by_value.get(v, v)``;
- ``("float", size)``: a ``float`` (4) or ``double`` (8);
- ``("bytes", size)``: exactly ``size`` bytes in and out;
- ``("chars", size, text)``: a char array; ``text`` drops trailing NULs;
- ``("struct", size, cls, ((offset, plan), ...))``: a named tuple of class ``cls``;
- ``("array", size, n, plan)``: a list of ``n`` elements.

:func:`bind_general` names the general methods once; :func:`core_ops` counts the
operations C finished itself (tests check that the fast path is taken); :func:`decode`
and :func:`encode` run a plan on bytes, for tests comparing C with the Python codecs;
:func:`decoder` makes a plan's decode function once, for records and other hot paths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from libbpf_py._lowlevel.loader import lib

__all__ = ["MapCore", "Plan", "bind_general", "core_ops", "decode", "decoder", "encode"]

#: A codec's plan: nested tuples as listed in the module's docstring.
Plan = tuple[Any, ...]

if TYPE_CHECKING:

    class MapCore:
        """The C half of a map whose single-entry operations fit C."""

        def _core_bind(
            self, fd: int, key_plan: Plan, value_plan: Plan, ncpus: int, percpu_class: Any
        ) -> None: ...

        def _core_close(self) -> None: ...

    def bind_general(
        getitem: Callable[..., Any],
        setitem: Callable[..., Any],
        delitem: Callable[..., Any],
        get: Callable[..., Any],
        contains: Callable[..., Any],
        update: Callable[..., Any],
    ) -> None:
        """Name the Python methods C hands the calls it does not finish to."""

    def core_ops() -> int:
        """How many map operations C completed itself so far."""
        return 0

    def decode(plan: Plan, data: bytes) -> Any:
        """The value ``plan`` reads from ``data`` (exactly the plan's size)."""

    def encode(plan: Plan, value: Any) -> bytes | None:
        """The bytes ``plan`` writes for ``value``; None where C would take the general path."""

    def decoder(plan: Plan) -> Callable[[Any], Any]:
        """A C function decoding the first bytes of any buffer (``bytes``, a memoryview,
        a ring's record) at least the plan's size long, as ``unpack_from`` reads: the
        codec's ``decode`` in C, for the hot paths that decode many values."""

elif lib.lpy_mapcore_install(__name__.encode()) != 0:  # pragma: no cover - out of memory
    raise ImportError("libbpf_py: installing the C map fast path failed")
