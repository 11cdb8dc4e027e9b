"""The one exception type of the package, :class:`TXWError`."""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["TXWError", "CATEGORIES"]

#: Every category a :class:`TXWError` can carry (format spec, section 1.9).
CATEGORIES = frozenset(
    {
        "truncated",
        "badMagic",
        "unsupportedVersion",
        "headerChecksum",
        "manifestChecksum",
        "limit",
        "malformedManifest",
        "invalidUTF8",
        "duplicateName",
        "unknownValue",
        "layout",
        "blockChecksum",
        "decode",
        "model",
    }
)


class TXWError(Exception):
    """A file (or a value about to be written) breaks a rule of the format.

    ``category`` is one of :data:`CATEGORIES`. ``message`` says what is wrong
    and where; ``str(error)`` is ``"<category>: <message>"``, for example::

        blockChecksum: tensor 'W_E' block 2 at offset 4096: checksum: expected 0x…, found 0x…

    The location and the two values are also available as attributes
    (``offset``, ``tensor``, ``block``, ``key``, ``expected``, ``found``);
    each is ``None`` when it does not apply. ``path`` is the file concerned,
    when there is one.
    """

    def __init__(
        self,
        category: str,
        what: str,
        *,
        offset: Optional[int] = None,
        tensor: Optional[str] = None,
        block: Optional[int] = None,
        key: Optional[str] = None,
        expected: Any = None,
        found: Any = None,
        path: Optional[str] = None,
    ) -> None:
        if category not in CATEGORIES:
            raise ValueError(f"unknown TXWError category {category!r}")
        self.category = category
        self.what = what
        self.offset = offset
        self.tensor = tensor
        self.block = block
        self.key = key
        self.expected = expected
        self.found = found
        self.path = path
        self.message = self._compose()
        super().__init__(f"{category}: {self.message}")

    def _compose(self) -> str:
        where = []
        if self.key is not None:
            where.append(f"metadata key {self.key!r}")
        if self.tensor is not None:
            where.append(f"tensor {self.tensor!r}")
        if self.block is not None:
            where.append(f"block {self.block}")
        if self.offset is not None:
            where.append(f"at offset {self.offset}")
        parts = []
        if where:
            parts.append(" ".join(where))
        if self.what:
            parts.append(self.what)
        if self.expected is not None and self.found is not None:
            parts.append(f"expected {_show(self.expected)}, found {_show(self.found)}")
        elif self.expected is not None:
            parts.append(f"expected {_show(self.expected)}")
        elif self.found is not None:
            parts.append(f"found {_show(self.found)}")
        return ": ".join(parts)

    def __reduce__(self):  # keep the exception picklable (multiprocessing)
        kwargs = dict(
            offset=self.offset,
            tensor=self.tensor,
            block=self.block,
            key=self.key,
            expected=self.expected,
            found=self.found,
            path=self.path,
        )
        return (_rebuild, (self.category, self.what, kwargs))


def _rebuild(category, what, kwargs):
    return TXWError(category, what, **kwargs)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return repr(value)
