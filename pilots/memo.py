"""A per-process memory of values that are costly to rebuild: a thread-safe map that drops its least recently used
entries beyond a bound.

The results service and ingestion keep what a request would otherwise read or compute again (a pilot's units, its
assigned moderators, each past look's figures) under keys that change whenever the value would: a fingerprint of
the rows it was built from, or a digest of its inputs. gunicorn's threaded workers share one memo per process, so
every operation holds the lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """Values by key, the least recently used dropped once their total weight passes `limit` (each value weighs
    `weight(value)`, 1 unless given; the newest entry is always kept, whatever it weighs)."""

    def __init__(self, limit: int, weight: Callable[[V], int] | None = None) -> None:
        self.limit = limit
        self._weight = weight or (lambda _value: 1)
        self._items: OrderedDict[K, V] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        return self.get_many([key])[0]

    def get_many(self, keys: Sequence[K]) -> list[V | None]:
        with self._lock:
            found = []
            for key in keys:
                value = self._items.get(key)
                if value is not None:
                    self._items.move_to_end(key)
                found.append(value)
            return found

    def put(self, key: K, value: V, *, replacing: Callable[[K], bool] | None = None) -> None:
        """Keep `value` under `key`; `replacing` names other keys it supersedes (say, the same pilot's value under an
        older fingerprint), which are dropped at once."""
        with self._lock:
            if replacing is not None:
                for other in [k for k in self._items if k != key and replacing(k)]:
                    self._drop(other)
            self._store(key, value)
            self._trim()

    def put_many(self, keys: Sequence[K], values: Sequence[V]) -> None:
        with self._lock:
            for key, value in zip(keys, values, strict=True):
                self._store(key, value)
            self._trim()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._total = 0

    def __len__(self) -> int:
        return len(self._items)

    def _store(self, key: K, value: V) -> None:
        if key in self._items:
            self._drop(key)
        self._items[key] = value
        self._total += self._weight(value)

    def _drop(self, key: K) -> None:
        self._total -= self._weight(self._items.pop(key))

    def _trim(self) -> None:
        while self._total > self.limit and len(self._items) > 1:
            self._drop(next(iter(self._items)))
