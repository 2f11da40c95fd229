"""A bounded memo keyed by a digest of a text: what a hot path read from a text (PII spans, an intent, a
sentiment, sentences) is kept under a blake2b digest, never the text itself (it may hold a name or a CPF),
and the whole memo is dropped when full (readings are cheap to redo; no bookkeeping per hit)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

V = TypeVar("V")


class DigestMemo(Generic[V]):
    """``memo.get(text, compute)``: ``compute(text)`` once per text until ``limit`` texts are kept."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._values: dict[bytes, V] = {}

    def get(self, text: str, compute: Callable[[str], V]) -> V:
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        found = self._values.get(key)
        if found is None:
            if len(self._values) >= self.limit:
                self._values.clear()
            found = self._values[key] = compute(text)
        return found

    def __iter__(self) -> Iterator[bytes]:
        """The digests kept (never a text)."""
        return iter(list(self._values))

    def __len__(self) -> int:
        return len(self._values)
