"""numpy dtypes from codecs, for maps and records alike (numpy is an optional extra:
imported only when used)."""

from __future__ import annotations

from typing import Any

from libbpf_py.types._codec import BytesCodec, Codec, IntCodec, PerCpuCodec
from libbpf_py.types.typed import ArrayCodec, BoolCodec, CharArrayCodec, FloatCodec, StructCodec

__all__ = ["dtype_of", "numpy"]


def numpy() -> Any:
    """Import numpy, or say how to get it."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is installed in the dev venv
        raise ImportError(
            "to_numpy() and numpy batches need numpy: pip install 'libbpf_py[numpy]'"
        ) from None
    return np


def dtype_of(codec: Codec) -> Any:
    """The numpy dtype whose items have exactly the codec's layout."""
    np = numpy()
    if isinstance(codec, BoolCodec):
        return np.dtype("?")
    if isinstance(codec, IntCodec) and codec.size in (1, 2, 4, 8):
        return np.dtype(f"<{'i' if codec.signed else 'u'}{codec.size}")
    if isinstance(codec, FloatCodec):
        return np.dtype(f"<f{codec.size}")
    if isinstance(codec, CharArrayCodec):
        # numpy's S strips trailing NULs when read: right for text, lossy for bytes.
        return np.dtype(f"S{codec.size}") if codec.text else np.dtype(("u1", (codec.size,)))
    if isinstance(codec, ArrayCodec):
        return np.dtype((dtype_of(codec.elem), (codec.n,)))
    if isinstance(codec, StructCodec):
        names, formats, offsets = [], [], []
        # numpy has no bitfields: each storage span appears once, as raw bytes.
        for f in codec.fields:
            if not f.bits:
                names.append(f.name)
                formats.append(dtype_of(f.codec))
                offsets.append(f.offset)
        for start, end, _ in codec.spans:
            names.append(f"bitfields_at_{start}")
            formats.append(np.dtype(f"V{end - start}"))
            offsets.append(start)
        return np.dtype(
            {"names": names, "formats": formats, "offsets": offsets, "itemsize": codec.size}
        )
    if isinstance(codec, PerCpuCodec):
        return np.dtype((dtype_of(codec.inner), (codec.ncpus,)))
    if isinstance(codec, BytesCodec) or codec.size:
        return np.dtype(f"V{codec.size}")
    raise TypeError(f"no numpy dtype for {codec!r}")  # pragma: no cover
