"""The last good rendering of each page, for when the database is unavailable.

Pages are rendered from the database at every request. When it cannot be reached, a page
this process has served still answers with the bytes it last sent (stale-if-error, RFC
5861 section 4) instead of 503; a page it never served gets the 503. The store is bounded
in bytes (least recently rendered pages go first) and is never read while the database
answers.
"""

from __future__ import annotations

import threading
from collections import OrderedDict


class StalePages:
    """A byte-bounded map of page path to the HTML last served for it with 200."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._pages: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0

    def remember(self, path: str, html: bytes) -> None:
        """Keep ``html`` as the last good rendering of ``path``."""
        if len(html) > self._max_bytes:
            return
        with self._lock:
            previous = self._pages.pop(path, None)
            if previous is not None:
                self._bytes -= len(previous)
            self._pages[path] = html
            self._bytes += len(html)
            while self._bytes > self._max_bytes:
                _, evicted = self._pages.popitem(last=False)
                self._bytes -= len(evicted)

    def forget(self, path: str) -> None:
        """Drop ``path`` (it is gone, or no longer public)."""
        with self._lock:
            previous = self._pages.pop(path, None)
            if previous is not None:
                self._bytes -= len(previous)

    def recall(self, path: str) -> bytes | None:
        """The last good rendering of ``path``, if this process has one."""
        with self._lock:
            return self._pages.get(path)
