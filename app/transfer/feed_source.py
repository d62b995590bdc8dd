"""The source of ``broadsheet import --from feed``: a feed and its whole history (RSS 2.0,
Atom 1.0, JSON Feed 1.x), from a file or over HTTP, as records of the import's line format
(:mod:`app.transfer.records`), each entry read by :mod:`app.transfer.feed_entries`.

History is followed two ways:

- RFC 5005 archives: each page's ``prev-archive`` link (Atom ``link``, ``atom:link`` in
  RSS; JSON Feed ``next_url``) leads to the page before it, until a page names none. A
  link to a page read before ends the walk (a cycle), and so does the request budget.
- WordPress-style paged feeds: when the first page names no older page, ``?paged=2``,
  ``3``... of the same URL are read until one answers 404 (or 410), holds no entries, or
  holds no entry not seen before (a server that ignores the parameter sends the first
  page again).

Every request carries a User-Agent that names Broadsheet and the importing site, waits
``interval`` seconds after the one before, follows at most :data:`MAX_REDIRECTS`
redirects and gives up after :data:`TIMEOUT` seconds without an answer. A page that
answers an error (other than the end of a paged feed) or is not a feed stops the import
before anything is stored, naming the URL: nothing is half-imported in an order that
would number articles wrong.
When the budget of requests runs out the walk stops and what was read is imported.

Entries are yielded once each, oldest first (publication order, so that articles are
numbered as the old site published them): an entry read on two pages (a feed and an
archive page) is kept in its newest copy, the one updated last (on a tie, the one read
first, from the newer page). Ids are never made up, so a second import of the same feed
finds every id stored and adds nothing.
"""

from __future__ import annotations

import importlib.metadata
import json
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit
from urllib.request import url2pathname

from app.errors import InvalidInput
from app.errors import SourceUnreadable
from app.json_input import parse_json
from app.transfer.feed_entries import FeedPage
from app.transfer.feed_entries import read_page
from app.transfer.feed_values import Record
from app.transfer.records import ArticleRecord

if TYPE_CHECKING:
    import httpx

MAX_REDIRECTS = 5
#: Seconds to wait for a connection, and for each read or write after it.
CONNECT_TIMEOUT, TIMEOUT = 10.0, 30.0
#: The largest feed page read; a larger one is refused by name, not read into memory.
MAX_PAGE_BYTES = 64 * 1024 * 1024
DEFAULT_BUDGET = 500
DEFAULT_INTERVAL = 1.0
_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, "
    "application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"
)
# A paged feed's end: the page does not exist (RFC 9110 sections 15.5.5 and 15.5.11).
_PAST_THE_END = (404, 410)


def user_agent(base_url: str) -> str:
    """The User-Agent of an import: ``Broadsheet/<version> (+<site>; feed import)``, so
    the old site's operators can tell who reads their archive and whom to ask."""
    version = importlib.metadata.version("broadsheet")
    return f"Broadsheet/{version} (+{base_url}; feed import)"


@dataclass
class FeedReading:
    """What reading a feed's history did: ``pages`` read, HTTP ``requests`` made (each
    redirect counts), distinct ``entries`` kept, ``repeated`` entries read again on
    another page, entries ``skipped`` (each reason), and ``stopped``: why the history was
    not read to its end (the request budget), or None."""

    pages: int = 0
    requests: int = 0
    entries: int = 0
    repeated: int = 0
    skipped: list[str] = field(default_factory=list)
    stopped: str | None = None


# An entry kept: the order it was first read in, its record, the URL of the page it is from.
_Kept = tuple[int, Record, str]


class _BudgetSpent(Exception):
    """No request is left in the budget."""


def feed_records(
    location: str,
    *,
    budget: int = DEFAULT_BUDGET,
    interval: float = DEFAULT_INTERVAL,
    user_agent: str,
    clock: Callable[[], datetime],
    log: Callable[[str], None],
    reading: FeedReading | None = None,
) -> Iterator[Record]:
    """The entries of the feed at ``location`` (a file path, a ``file:`` URL or an
    http(s) URL) and of its history, as line-format records, oldest first, once each.

    ``budget`` bounds the HTTP requests, ``interval`` is the pause in seconds between
    them, ``user_agent`` is sent with each (see :func:`user_agent`), ``clock`` dates the
    entries that carry no date, ``log`` takes a line for the operator per page read and
    per entry left out. ``reading``, if given, is filled with what was read (see
    :class:`FeedReading`). Every page is read before the first record is yielded.

    Raises:
        SourceUnreadable: a page could not be fetched, answered an error or is not a feed
            (the message names its URL); nothing was yielded.
    """
    reading = reading if reading is not None else FeedReading()
    with _Pages(budget, interval, user_agent, reading) as pages:
        kept = _History(pages, clock(), log, reading).read(_location_url(location))
    reading.entries = len(kept)
    log(
        f"feed pages read: {reading.pages}, requests made: {reading.requests}, "
        f"entries: {reading.entries} ({reading.repeated} read again on another page)"
    )
    ordered = sorted(kept.values(), key=_publication_order)
    for number, (_, record, page_url) in enumerate(ordered, start=1):
        _name_if_refused(number, record, page_url, log)
        yield record


def _publication_order(item: _Kept) -> tuple[str, int]:
    # Times are written in one fixed form (UTC, microseconds), so their text sorts as they
    # do; on a tie the entry read later (lower in a newest-first feed) is the older one.
    order, record, _ = item
    return str(record["published_at"]), -order


def _name_if_refused(
    number: int, record: Record, page_url: str, log: Callable[[str], None]
) -> None:
    """Log which entry the ``number``-th record is, when the import's line format refuses
    it: the import's report names a refused record by its number only."""
    try:
        parse_json(ArticleRecord, json.dumps(record), "The line", "The line is invalid.")
    except InvalidInput:
        log(f"line {number} is the entry {record['id']} of {page_url}")


def _location_url(location: str) -> str:
    """An http(s) or file URL for what was given: a URL, or a path to a file."""
    scheme = urlsplit(location).scheme.lower()
    if scheme in ("http", "https", "file"):
        return location
    path = Path(location).expanduser().resolve()
    if not path.is_file():
        raise SourceUnreadable(f"{location}: no such file, and not an http(s) URL")
    return path.as_uri()


class _History:
    """One walk through a feed's pages, keeping each entry's newest copy by id."""

    def __init__(
        self,
        pages: _Pages,
        now: datetime,
        log: Callable[[str], None],
        reading: FeedReading,
    ) -> None:
        self.pages, self.now, self.log, self.reading = pages, now, log, reading
        self.kept: dict[str, _Kept] = {}
        self.visited: set[str] = set()

    def read(self, first_url: str) -> dict[str, _Kept]:
        """Read the first page and every older one; return the entries kept, by id, each
        with the order it was first read in and the URL of the page of the copy kept."""
        try:
            page, _ = self._page(first_url)
            if page.older is None and urlsplit(first_url).scheme in ("http", "https"):
                self._paged(first_url)
            # A page on the web may not send the import to read this machine's files.
            schemes = {"http", "https", urlsplit(first_url).scheme}
            while page.older is not None:
                if page.older in self.visited:
                    self.log(f"{page.older} was read before: the archive links go round; stopped")
                    break
                if urlsplit(page.older).scheme not in schemes:
                    self.log(f"{page.older}: not an http(s) URL; the older pages are not read")
                    break
                page, _ = self._page(page.older)
        except _BudgetSpent:
            self.reading.stopped = (
                f"the budget of {self.pages.budget} requests was used up before the oldest "
                "page; the pages read are imported (--max-requests reads further)"
            )
            self.log(self.reading.stopped)
        return self.kept

    def _paged(self, first_url: str) -> None:
        """WordPress-style pages: ``?paged=2``, ``3``... until one is past the end, empty,
        or holds nothing new."""
        number = 2
        while True:
            url = _with_query(first_url, paged=str(number))
            if url in self.visited:
                return
            fetched = self.pages.fetch(url, missing_ends=True)
            if fetched is None:
                self.log(f"{url}: not found, the end of the paged feed")
                return
            page, added = self._read(url, fetched)
            if not page.records or not added:
                return
            number += 1

    def _page(self, url: str) -> tuple[FeedPage, int]:
        fetched = self.pages.fetch(url, missing_ends=False)
        assert fetched is not None  # only a paged feed's pages may be missing
        return self._read(url, fetched)

    def _read(self, url: str, fetched: tuple[bytes, str, str]) -> tuple[FeedPage, int]:
        """Read a fetched page and keep its entries; the page and how many ids were new."""
        self.visited.add(url)
        body, media_type, final_url = fetched
        self.visited.add(final_url)
        page = read_page(body, media_type, final_url, self.now)
        self.reading.pages += 1
        added = self._keep(page)
        self.log(f"read {final_url}: {len(page.records)} entries, {added} new")
        for reason in page.skipped:
            self.reading.skipped.append(reason)
            self.log(reason)
        return page, added

    def _keep(self, page: FeedPage) -> int:
        """Keep each entry of ``page`` not read before, or newer than its copy read before;
        return how many ids were new."""
        added = 0
        for record in page.records:
            entry_id = str(record["id"])
            held = self.kept.get(entry_id)
            if held is None:
                self.kept[entry_id] = (len(self.kept), record, page.url)
                added += 1
                continue
            self.reading.repeated += 1
            if str(record["updated_at"]) > str(held[1]["updated_at"]):
                self.kept[entry_id] = (held[0], record, page.url)
        return added


def _with_query(url: str, **values: str) -> str:
    """``url`` with the query parameters ``values`` set (others kept, in order)."""
    parts = urlsplit(url)
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name not in values
    ]
    query.extend(values.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


class _Pages:
    """The pages' bytes: files read from disk, URLs fetched politely within the budget."""

    def __init__(self, budget: int, interval: float, user_agent: str, reading: FeedReading) -> None:
        # Imported here, not with the module: importing httpx loads its command line (click)
        # when click is installed, and the core loads no CLI framework (app.notifying).
        import httpx

        self.budget, self.interval, self.reading = budget, interval, reading
        self.client = httpx.Client(
            headers={"User-Agent": user_agent, "Accept": _ACCEPT},
            timeout=httpx.Timeout(TIMEOUT, connect=CONNECT_TIMEOUT),
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
        )
        self.last_request: float | None = None

    def __enter__(self) -> _Pages:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def fetch(self, url: str, *, missing_ends: bool) -> tuple[bytes, str, str] | None:
        """(body, media type, final URL) of ``url``; None if ``missing_ends`` and it
        answered 404 or 410.

        Raises:
            _BudgetSpent: no request left.
            SourceUnreadable: anything else but a 2xx answer, or no answer at all.
        """
        import httpx  # see __init__

        if urlsplit(url).scheme == "file":
            return self._file(url)
        if self.reading.requests >= self.budget:
            raise _BudgetSpent
        self._pause()
        try:
            with self.client.stream("GET", url) as response:
                self.reading.requests += 1 + len(response.history)
                if missing_ends and response.status_code in _PAST_THE_END:
                    return None
                if not response.is_success:
                    raise SourceUnreadable(
                        f"{url} answered {response.status_code} {response.reason_phrase}"
                    )
                body = _limited_body(response, url)
        except httpx.TooManyRedirects:
            self.reading.requests += MAX_REDIRECTS + 1
            raise SourceUnreadable(f"{url} redirects more than {MAX_REDIRECTS} times") from None
        except httpx.HTTPError as error:
            self.reading.requests += 1
            raise SourceUnreadable(f"{url} could not be fetched: {error!r}") from None
        finally:
            self.last_request = time.monotonic()
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return body, media_type, str(response.url)

    def _pause(self) -> None:
        # Politeness: at most one request per interval to the old site, measured between
        # the end of one request and the start of the next.
        if self.last_request is not None and self.interval > 0:
            time.sleep(max(0.0, self.interval - (time.monotonic() - self.last_request)))

    @staticmethod
    def _file(url: str) -> tuple[bytes, str, str]:
        path = Path(url2pathname(urlsplit(url).path))
        try:
            if path.stat().st_size > MAX_PAGE_BYTES:
                raise SourceUnreadable(f"{path} is larger than {MAX_PAGE_BYTES} bytes")
            body = path.read_bytes()
        except OSError as error:
            raise SourceUnreadable(f"{path} could not be read: {error.strerror}") from None
        media_type = "application/json" if path.suffix.lower() == ".json" else ""
        return body, media_type, url


def _limited_body(response: httpx.Response, url: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_PAGE_BYTES:
            raise SourceUnreadable(f"{url} is larger than {MAX_PAGE_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
