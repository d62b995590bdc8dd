"""A feed document as its shell plus one fragment of bytes per entry.

Every document these functions return parses: each shell and each newly rendered entry is
parsed when it is rendered (an error if it does not), and a document is a parsed shell
around parsed entries, cut where one element ends and the next begins.

Contract: ``join(document, fmt, render_entries(document, fmt))`` returns exactly the bytes that
rendering the whole document at once returns, and an entry's bytes depend only on the entry,
the format, and the document's language and home URL, so they can be kept (in memory, in the
database) and joined into any other document of that context (``tests/test_rendering.py``
proves both on the golden documents and on generated ones). The newest articles sit in the
site feed and in each of their categories, tags, authors and archive, so a write that touches
nine feeds renders one new entry and joins bytes for the rest.

How the bytes are cut: the renderers pretty-print, so in RSS every item begins on a line that
starts with four spaces and ``<item>`` and in Atom every entry on a line that starts with two
spaces and ``<entry``; entry text is always escaped (``<`` is ``&lt;``, never CDATA), so no
such line can come from content. The shell is the document rendered with no entries; its
entries go right before ``</channel>`` (RSS) or ``</feed>`` (Atom). JSON Feed items are
serialised one by one with the indentation they have inside the document.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from operator import itemgetter
from typing import Generic
from typing import TypeVar

from cachetools import LRUCache
from lxml import etree

from app.domain import FeedFormat
from app.rendering.atom import render_atom
from app.rendering.jsonfeed import json_feed_item
from app.rendering.jsonfeed import render_json_feed
from app.rendering.model import FeedDocument
from app.rendering.model import FeedEntry
from app.rendering.rss import render_rss

K = TypeVar("K")
V = TypeVar("V")


class SizedLru(Generic[K, V]):
    """A map that keeps at most ``max_bytes`` (as ``weigh`` counts them) of its values,
    dropping the least recently used first. Safe to share between threads; ``max_bytes``
    0 keeps nothing."""

    def __init__(self, max_bytes: int, weigh: Callable[[K, V], int]) -> None:
        self.max_bytes = max_bytes
        self._weigh = weigh
        # Each value is kept with its weight: cachetools weighs a value alone, ours weigh
        # the key too. Its caches are not thread-safe (even a read reorders), hence the lock.
        self._items: LRUCache[K, tuple[V, int]] = LRUCache(max_bytes, getsizeof=itemgetter(1))
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
        return None if found is None else found[0]

    def put(self, key: K, value: V) -> None:
        size = self._weigh(key, value)
        if size > self.max_bytes:
            return  # it would not fit even alone (cachetools refuses it with an error)
        with self._lock:
            self._items[key] = (value, size)

    @property
    def size_bytes(self) -> int:
        """What the kept values weigh now, as counted against ``max_bytes``."""
        return int(self._items.currsize)


@dataclass(frozen=True)
class _XmlLayout:
    render: Callable[[FeedDocument, tuple[FeedEntry, ...]], bytes]
    entry_start: re.Pattern[bytes]
    """Matches where each entry begins in a rendered document."""
    entries_end: bytes
    """The last occurrence of this ends the entries (and is where a shell takes them)."""

    def shell(self, document: FeedDocument) -> tuple[bytes, bytes]:
        body = _parsed_xml(self.render(document, ()))
        cut = body.rindex(self.entries_end)
        return body[:cut], body[cut:]

    def entries(self, document: FeedDocument, entries: tuple[FeedEntry, ...]) -> list[bytes]:
        body = _parsed_xml(self.render(document, entries))
        starts = [match.start() for match in self.entry_start.finditer(body)]
        if len(starts) != len(entries):
            raise RuntimeError(f"found {len(starts)} entries where {len(entries)} were rendered")
        ends = [*starts[1:], body.rindex(self.entries_end)]
        return [body[start:end] for start, end in zip(starts, ends, strict=True)]


_RSS = _XmlLayout(render_rss, re.compile(rb"^    <item>", re.M), b"  </channel>")
_ATOM = _XmlLayout(render_atom, re.compile(rb"^  <entry[ >]", re.M), b"</feed>")

# JSON Feed: head ends with '"items": [', items are joined with ',', then the tail.
_JSON_EMPTY_TAIL = b"]\n}\n"
_JSON_TAIL = b"\n  ]\n}\n"


def render_entries(document: FeedDocument, fmt: FeedFormat) -> list[bytes]:
    """The bytes of each of ``document``'s entries in ``fmt``, in order, each as it reads
    inside any document in ``fmt`` with the same ``language`` and ``home_url`` (an entry's
    bytes depend on nothing else of the document it is rendered in)."""
    if not document.entries:
        return []
    if fmt is FeedFormat.JSON:
        return [_json_fragment(entry) for entry in document.entries]
    return (_RSS if fmt is FeedFormat.RSS else _ATOM).entries(document, document.entries)


def join(document: FeedDocument, fmt: FeedFormat, fragments: Sequence[bytes]) -> bytes:
    """The bytes of ``document`` in ``fmt`` with ``fragments`` as its entries, in order:
    each from :func:`render_entries` of a document in ``fmt`` with the same language and
    home URL. ``document.entries`` is not read."""
    if not fragments:
        return _render_whole(replace(document, entries=()), fmt)
    if fmt is FeedFormat.JSON:
        shell = _parsed_json(render_json_feed(replace(document, entries=())))
        return shell[: -len(_JSON_EMPTY_TAIL)] + b",".join(fragments) + _JSON_TAIL
    head, tail = (_RSS if fmt is FeedFormat.RSS else _ATOM).shell(document)
    return head + b"".join(fragments) + tail


def _render_whole(document: FeedDocument, fmt: FeedFormat) -> bytes:
    if fmt is FeedFormat.RSS:
        return _parsed_xml(render_rss(document))
    if fmt is FeedFormat.ATOM:
        return _parsed_xml(render_atom(document))
    return _parsed_json(render_json_feed(document))


def _json_fragment(entry: FeedEntry) -> bytes:
    # Inside the document an item sits two levels deep.
    return _parsed_json(("\n    " + _indented_json(json_feed_item(entry), "    ")).encode("utf-8"))


def _parsed_xml(body: bytes) -> bytes:
    """``body``, once it has parsed as XML (or an error): every piece of a document is
    parsed once, when it is rendered, so a document joined from kept pieces need not be
    parsed again, whatever its size."""
    etree.fromstring(body, _XML_PARSER)
    return body


def _parsed_json(body: bytes) -> bytes:
    """``body``, once it has parsed as JSON (or an error)."""
    json.loads(body)
    return body


_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def _indented_json(value: object, indent: str) -> str:
    """``json.dumps(value, ensure_ascii=False, indent=2)`` as it reads ``indent`` deep.

    The standard library drops its C encoder whenever it indents; here only the layout is
    Python and every string goes through the C encoder, several times faster on long
    content. The documents' tests prove the bytes are the same as the standard layout.
    """
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        members = (
            f"{inner}{_scalar(key)}: {_indented_json(item, inner)}" for key, item in value.items()
        )
        return "{\n" + ",\n".join(members) + "\n" + indent + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        items = (inner + _indented_json(item, inner) for item in value)
        return "[\n" + ",\n".join(items) + "\n" + indent + "]"
    return _scalar(value)


_scalar = json.JSONEncoder(ensure_ascii=False).encode
