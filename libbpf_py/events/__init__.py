"""Phase 6, execute: the event channels between BPF programs and this process.

This package owns :mod:`~libbpf_py.events.ringbuf` (``RingBuffer``, kernel to user),
:mod:`~libbpf_py.events.perfbuf` (``PerfBuffer``, per-CPU perf samples) and
:mod:`~libbpf_py.events.user_ringbuf` (``UserRingBuffer``, user to kernel). Each wraps
a :class:`~libbpf_py.Map` given to it and decodes records with ``libbpf_py.types``.
The old paths ``libbpf_py.ringbuf``, ``libbpf_py.perfbuf`` and ``libbpf_py.user_ringbuf``
still import.
"""
