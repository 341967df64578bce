"""Finished public answers kept in this process's memory, keyed by everything they
depend on (a change stamp, an ETag): an LRU bounded by entries and by bytes."""

import threading
from dataclasses import dataclass

from cachetools import LRUCache
from flask import current_app

MAX_ENTRIES = 20_000
# Bytes an entry costs beyond its body (key, tuples, the cache's own bookkeeping):
# a rough figure, so that many small answers still count against the budget.
OVERHEAD = 600
_created = threading.Lock()


@dataclass(frozen=True, slots=True)
class Answer:
    body: bytes
    etag: str
    mimetype: str


def _size(answer: Answer) -> int:
    return len(answer.body) + len(answer.etag) + OVERHEAD


class Memo:
    """A thread-safe LRU of answers (under gevent the lock is a greenlet's lock:
    nothing inside it waits on anything)."""

    def __init__(self, max_bytes: int, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._cache = LRUCache(maxsize=max_bytes, getsizeof=_size)

    def get(self, key) -> Answer | None:
        with self._lock:
            return self._cache.get(key)

    def put(self, key, answer: Answer) -> None:
        if _size(answer) > self._cache.maxsize:
            return  # larger than the whole budget: never kept
        with self._lock:
            while len(self._cache) >= self.max_entries and key not in self._cache:
                self._cache.popitem()  # the least recently used
            self._cache[key] = answer

    def __len__(self) -> int:
        return len(self._cache)

    @property
    def bytes(self) -> int:
        return self._cache.currsize


def answers() -> Memo | None:
    """This process's memo for the app, or None when ANSWER_MEMO_BYTES is 0."""
    app = current_app._get_current_object()
    if "answer_memo" not in app.extensions:
        with _created:
            budget = int(app.config["ANSWER_MEMO_BYTES"])
            app.extensions.setdefault(
                "answer_memo", Memo(budget) if budget > 0 else None
            )
    return app.extensions["answer_memo"]
