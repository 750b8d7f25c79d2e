"""Answers kept for the public's repeated searches.

An answer is reused while the index is the one it was computed from, and for `stale_s`
seconds after the index changed: under a stream of changes the portal rewrites the index
several times a second, and a search that many people make ("giấy phép xây dựng") would
otherwise be computed again for nearly every one of them. Bounded: the least recently
used answers go first. The same bound applies to browsers (Cache-Control in routes).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable


class AnswerCache:
    def __init__(
        self, *, max_entries: int, stale_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_entries = max_entries
        self.stale_s = stale_s
        self.clock = clock
        self._entries: OrderedDict[Hashable, tuple[object, float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, generation: object) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            made_from, made_at, body = entry
            if made_from != generation and self.clock() - made_at > self.stale_s:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return body

    def put(self, key: Hashable, generation: object, body: bytes) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._entries[key] = (generation, self.clock(), body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
