"""txw: read and write `.txw` tensor containers and txw models.

The format is specified in ``Spec/txw-format.md`` of the txw repository;
this package is its Python reference reader and writer.

Container level::

    txw.write_container(path, [("a", array), ("b", array, "bf16")], {"name": "x"})
    with txw.read_container(path) as c:
        c.metadata, c.tensors, c.read("a"), c.verify()

Model level::

    txw.save(path, W_E, blocks, vocab=[...], context_length=64, metadata={"name": "toy"})
    model = txw.load(path)            # model.W_E, model.blocks, model.hyperparameters, model.context_length, ...

Content digests (spec part 4; the same as ``txw-inspect --digest``)::

    txw.digest(path)                  # the model digest, 64 hex digits
    txw.tensor_digests(path)          # {name: hex} in the profile's order
    txw.tensor_digest(path, name)     # one tensor of any container

Activation caches (``txw-run --cache``)::

    cache = txw.load_cache(path)      # dict name -> array; cache.tokens, cache.text, cache.metadata, ...
"""

from .cache import ActivationCache, load_cache
from .digest import digest, digest_from_hex, model_digest, tensor_digest, tensor_digests
from .container import BlockInfo, Container, TensorInfo, read_container
from .errors import CATEGORIES, TXWError
from .model import BlockParameter, Model, load, save, tensor_shapes
from .writer import Tensor, write_container

__version__ = "1.0.0"

#: The highest format version this package reads and writes (spec 1.8). It
#: reads any minor version of major 1, and writes the lowest one a file needs:
#: 1.0, or 1.1 for a model with ``model.context_length``.
FORMAT_VERSION = (1, 1)

__all__ = [
    "TXWError",
    "CATEGORIES",
    "read_container",
    "Container",
    "TensorInfo",
    "BlockInfo",
    "write_container",
    "Tensor",
    "BlockParameter",
    "Model",
    "save",
    "load",
    "tensor_shapes",
    "digest",
    "model_digest",
    "tensor_digest",
    "tensor_digests",
    "digest_from_hex",
    "load_cache",
    "ActivationCache",
    "FORMAT_VERSION",
    "__version__",
]
