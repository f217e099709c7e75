"""The types layer: BTF types turned into Python values and back.

It is the one BTF-to-Python engine: ``typed`` builds, once per type, the codec
(generated decoder and encoder) and the Python class of every C type, for map keys and
values, globals, ring and perf records and ``test_run`` contexts alike; ``_numpy`` gives
their numpy dtypes; ``_map_btf`` keeps one engine per BTF blob and picks a map's key and
value types; ``_records`` names a record's type; ``_codec`` and ``_map_codecs`` hold the
integer, raw and per-CPU codecs and a map's choice of them. It reads BTF through
:mod:`libbpf_py.inspect` and asks the kernel for BTF by id through
:mod:`libbpf_py.query`; no phase class lives here, so every phase can use it.
"""
