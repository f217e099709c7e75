"""The types layer: BTF types turned into Python values and back.

It owns the codecs of keys, values and globals (``typed``, ``_codec``, ``_map_btf``,
``_map_codecs``), the records of ring buffers, perf buffers and ``test_run`` contexts
(``_records``, ``_record_decode``) and numpy dtypes (``_numpy``). It reads BTF through
:mod:`libbpf_py.inspect` and asks the kernel for BTF by id through
:mod:`libbpf_py.query`; no phase class lives here, so every phase can use it.
"""
