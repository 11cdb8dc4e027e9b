"""Reading activation caches written by ``txw-run --cache`` (Spec/txw-format.md §3).

A cache is a ``.txw`` container or an ``.npz`` archive holding one tensor per
activation of one forward pass, named by its TransformerLens hook name
(``hook_embed``, ``blocks.0.attn.hook_pattern``, ..., ``logits``), and
metadata naming the model file, the input and the ablation.
"""

import json
import os
import zipfile
from typing import Any, Dict, List, Optional

import numpy as np

from .container import read_container

PROFILE = "activation-cache"
NPZ_METADATA = "__txw_metadata__"


class ActivationCache(dict):
    """A dict from activation name to numpy array (float32 or float64, as
    computed), in the file's order, with the cache's metadata:

    ``metadata``: every ``cache.*`` key -> value (int, str or list of str);
    ``tokens`` (list of int); ``text`` (str or None); ``precision``
    (``'f32'``/``'f64'``); ``model_file``; ``model_header_checksum`` (16 hex
    digits); ``ablations`` (list of spec strings, empty for none);
    ``ablate_mode`` (``'zero'``/``'mean'``).
    """

    def __init__(self, arrays: Dict[str, np.ndarray], metadata: Dict[str, Any]) -> None:
        super().__init__(arrays)
        self.metadata = metadata
        tokens = metadata.get("cache.tokens", "")
        self.tokens: List[int] = [int(t) for t in tokens.split()] if tokens else []
        self.text: Optional[str] = metadata.get("cache.text")
        self.precision: str = metadata.get("cache.precision", "")
        self.model_file: str = metadata.get("cache.model.file", "")
        self.model_header_checksum: str = metadata.get("cache.model.header_checksum", "")
        self.ablations: List[str] = list(metadata.get("cache.ablation.targets", []))
        self.ablate_mode: str = metadata.get("cache.ablation.mode", "zero")


def _decode_exchange(value: str) -> Any:
    """``TYPE:TEXT`` (the npz metadata convention of txw-pack's export) -> a value."""
    kind, _, text = value.partition(":")
    if kind == "string":
        return text
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "bool":
        return text == "true"
    if kind == "strings":
        return json.loads(text)
    raise ValueError(f"metadata value {value!r}: unknown type {kind!r}")


def load_cache(path) -> ActivationCache:
    """Read the activation cache at ``path`` (.txw, or .npz by its zip magic).

    Every tensor of a .txw cache is read, which verifies its checksums.
    Raises ValueError for a file that is not an activation cache, and
    TXWError for a damaged .txw file."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == b"PK\x03\x04":
        with np.load(path, allow_pickle=False) as z:
            if NPZ_METADATA not in z.files:
                raise ValueError(f"{path}: not an activation cache (no {NPZ_METADATA}.npy)")
            raw = json.loads(bytes(z[NPZ_METADATA]).decode("utf-8"))
            metadata = {k: _decode_exchange(v) for k, v in raw.items()}
            if metadata.get("cache.profile") != PROFILE:
                raise ValueError(f"{path}: not an activation cache (cache.profile is not {PROFILE!r})")
            with zipfile.ZipFile(path) as archive:
                order = [n[: -len(".npy")] for n in archive.namelist() if n.endswith(".npy")]
            arrays = {name: z[name] for name in order if name != NPZ_METADATA}
        return ActivationCache(arrays, metadata)
    with read_container(path) as c:
        metadata = dict(c.metadata)
        if metadata.get("cache.profile") != PROFILE:
            raise ValueError(f"{path}: not an activation cache (cache.profile is not {PROFILE!r})")
        arrays = {info.name: c.read(info.name) for info in c.tensors}
    return ActivationCache(arrays, metadata)
