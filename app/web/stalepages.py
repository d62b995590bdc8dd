"""The last good rendering of each page, for when the database is unavailable.

Pages are rendered from the database at every request. When it cannot be reached, a page
this process has served still answers with the bytes it last sent (stale-if-error, RFC
5861 section 4) instead of 503; a page it never served gets the 503. The store is bounded
in bytes (least recently rendered pages go first) and is never read while the database
answers.
"""

from __future__ import annotations

import threading

from cachetools import FIFOCache


class StalePages:
    """A byte-bounded map of page path to the HTML last served for it with 200."""

    def __init__(self, max_bytes: int) -> None:
        # First in, first out, where storing a page again puts it last: the least recently
        # rendered go first, and a recall (only during an outage) changes nothing. The
        # cache is not thread-safe, hence the lock.
        self._pages: FIFOCache[str, bytes] = FIFOCache(max_bytes, getsizeof=len)
        self._lock = threading.Lock()

    def remember(self, path: str, html: bytes) -> None:
        """Keep ``html`` as the last good rendering of ``path``."""
        if len(html) > self._pages.maxsize:
            return  # it would not fit even alone (cachetools refuses it with an error)
        with self._lock:
            self._pages[path] = html

    def forget(self, path: str) -> None:
        """Drop ``path`` (it is gone, or no longer public)."""
        with self._lock:
            self._pages.pop(path, None)

    def recall(self, path: str) -> bytes | None:
        """The last good rendering of ``path``, if this process has one."""
        with self._lock:
            return self._pages.get(path)
