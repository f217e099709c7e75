"""The types layer: BTF types turned into Python values and back.

It is the one BTF-to-Python engine: ``typed`` builds, once per type, the codec
(generated decoder and encoder) and the Python class of every C type, for map keys and
values, globals, ring and perf records, ``test_run`` contexts and the initial values an
object reader (:mod:`libbpf_py.inspect`) finds, alike; ``_numpy`` gives their numpy
dtypes; ``_plain`` renders the engine's values as JSON-able Python (for the CLI and
``inspect --json``); ``_map_btf`` keeps one engine per BTF blob and picks a map's key and
value types; ``_records`` names a record's type; ``_codec`` holds the integer, raw and
per-CPU codecs. It is pure Python over the BTF reader (:mod:`libbpf_py.btf`) and sits
below the C layer, so the object reader can use it and imports nothing compiled; BTF the
kernel or libbpf holds reaches it through :mod:`libbpf_py.query`.
"""
