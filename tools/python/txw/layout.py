"""Constants and small helpers shared by the reader and the writer (spec 1.1-1.6)."""

from __future__ import annotations

import xxhash

MAGIC = b"\x89TXW\r\n\x1a\n"
HEADER_SIZE = 64
MAJOR_VERSION = 1
#: The highest minor version this package knows (spec 1.8): 1.1 adds the
#: model profile's optional ``model.context_length``. A writer declares the
#: lowest minor version its file needs (``write_container(minor_version=)``).
MINOR_VERSION = 1

MAX_MANIFEST_LENGTH = 1 << 28  # 256 MiB
MAX_ENTRIES = 65536  # metadata entries; tensors
MAX_NAME_LENGTH = 255  # keys and tensor names, in bytes
MAX_STRING_LENGTH = 1 << 24  # 16 MiB, one string value or list item
MAX_STRING_COUNT = 1 << 24  # items of a string list
MAX_RANK = 8
MAX_DIM = 1 << 40
MAX_ELEMENTS = 1 << 40
MIN_BLOCK_SIZE = 64
MAX_BLOCK_SIZE = 1 << 26  # 64 MiB
U64_MAX = (1 << 64) - 1

#: metadata type code -> name (the names used in Container.metadata_types)
META_TYPES = {1: "int", 2: "float", 3: "bool", 4: "string", 5: "strings"}
META_TYPE_CODES = {name: code for code, name in META_TYPES.items()}

# Header field offsets
OFF_MAJOR = 8
OFF_MINOR = 10
OFF_RESERVED_1 = 12
OFF_MANIFEST_LENGTH = 16
OFF_DATA_OFFSET = 24
OFF_FILE_LENGTH = 32
OFF_RESERVED_2 = 40
OFF_MANIFEST_CHECKSUM = 48
OFF_HEADER_CHECKSUM = 56


def align64(x: int) -> int:
    """The smallest multiple of 64 that is >= x."""
    return (x + 63) & ~63


def xxh3(data) -> int:
    """XXH3-64, seed 0."""
    return xxhash.xxh3_64_intdigest(data)


def hex64(value: int) -> str:
    return f"0x{value:016x}"

# A zstd block decodes to at most this many times its stored length (§1.4).
MAX_ZSTD_EXPANSION = 32768
