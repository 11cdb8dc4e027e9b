"""Block filters (byte-shuffle) and codecs (stored, zstd), spec 1.4."""

from __future__ import annotations

import numpy as np
import zstandard

__all__ = [
    "CODEC_CODES",
    "CODECS",
    "FILTER_CODES",
    "FILTERS",
    "ZSTD_MIN_LEVEL",
    "ZSTD_MAX_LEVEL",
    "shuffle",
    "unshuffle",
    "zstd_bound",
    "new_compressor",
    "zstd_content_size",
    "zstd_decompress",
    "BlockDecodeError",
]

CODEC_CODES = {"stored": 0, "zstd": 1}
CODECS = {code: name for name, code in CODEC_CODES.items()}
FILTER_CODES = {"none": 0, "shuffle": 1}
FILTERS = {code: name for name, code in FILTER_CODES.items()}

ZSTD_MIN_LEVEL = -(1 << 17)
ZSTD_MAX_LEVEL = zstandard.MAX_COMPRESSION_LEVEL

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class BlockDecodeError(Exception):
    """A zstd block could not be decoded; the caller turns it into a TXWError."""


def shuffle(raw: bytes, element_size: int) -> bytes:
    """Byte-shuffle: filtered byte ``j*n + i`` is raw byte ``i*element_size + j``."""
    n = len(raw) // element_size
    return np.frombuffer(raw, dtype=np.uint8).reshape(n, element_size).T.tobytes()


def unshuffle(filtered, element_size: int) -> bytes:
    """Invert :func:`shuffle`."""
    n = len(filtered) // element_size
    return np.frombuffer(filtered, dtype=np.uint8).reshape(element_size, n).T.tobytes()


def zstd_bound(raw_length: int) -> int:
    """Largest stored_length the format allows for a zstd block of ``raw_length`` bytes."""
    return raw_length + raw_length // 256 + (1 << 17)


def new_compressor(level: int) -> zstandard.ZstdCompressor:
    # One frame per call, content size in the header, no zstd checksum (the
    # block checksum covers the stored bytes), single-threaded: deterministic.
    return zstandard.ZstdCompressor(level=level, write_content_size=True, write_checksum=False, threads=0)


def zstd_content_size(frame) -> int:
    """The content size a zstd frame's header declares (CONTENTSIZE_UNKNOWN if none)."""
    return zstandard.get_frame_parameters(frame).content_size


def zstd_decompress(decompressor: zstandard.ZstdDecompressor, stored, raw_length: int) -> bytes:
    """Decode one zstd block: exactly one Zstandard frame (not skippable, no
    dictionary), nothing after it, a content size declared in the frame
    header and equal to ``raw_length``, and exactly ``raw_length`` bytes of
    output; never more than that is produced (spec 1.4)."""
    if len(stored) < 4 or bytes(stored[:4]) != _ZSTD_MAGIC:
        found = bytes(stored[:4]).hex()
        raise BlockDecodeError(f"not a Zstandard frame: magic number expected 28b52ffd, found {found or 'nothing'}")
    try:
        params = zstandard.get_frame_parameters(stored)
    except zstandard.ZstdError as exc:
        raise BlockDecodeError(f"bad Zstandard frame header: {exc}") from None
    if params.dict_id != 0:
        raise BlockDecodeError(f"the frame needs dictionary {params.dict_id}: dictionaries are not allowed")
    declared = params.content_size
    if declared == zstandard.CONTENTSIZE_UNKNOWN:
        raise BlockDecodeError(f"the frame header does not declare the content size (raw_length {raw_length})")
    if declared != raw_length:
        raise BlockDecodeError(f"frame declares content size {declared}, expected raw_length {raw_length}")
    try:
        # The declared size (checked above) is raw_length: the output buffer
        # is raw_length bytes, and max_output_size caps it the same way.
        out = decompressor.decompress(stored, max_output_size=raw_length, allow_extra_data=False)
    except zstandard.ZstdError as exc:
        if "did not decompress full frame" in str(exc):
            raise BlockDecodeError(f"the frame is incomplete or decodes to more than raw_length {raw_length} bytes") from None
        raise BlockDecodeError(f"zstd: {exc}") from None
    if len(out) != raw_length:
        raise BlockDecodeError(f"frame decodes to {len(out)} bytes, expected raw_length {raw_length}")
    return out
