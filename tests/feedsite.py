"""Feeds served over real HTTP on 127.0.0.1 for the feed import's tests: a server that
answers fixed documents by path and query and records each request (its path, its
User-Agent and when it came), and the RSS, Atom and JSON Feed documents it serves."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from html import escape
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any

ATOM = "application/atom+xml"
RSS = "application/rss+xml"
JSON_FEED = "application/feed+json"


# -- a site that serves feeds -----------------------------------------------------------------


@dataclass
class FeedSite:
    """What the server answers (by path and query) and the requests it got."""

    url: str = ""
    pages: dict[str, tuple[int, str, bytes, dict[str, str]]] = field(default_factory=dict)
    requests: list[tuple[str, str, float]] = field(default_factory=list)

    def add(self, path: str, body: str, media_type: str = ATOM, status: int = 200) -> None:
        self.pages[path] = (status, media_type, body.encode("utf-8"), {})

    def redirect(self, path: str, to: str) -> None:
        self.pages[path] = (301, "text/plain", b"moved", {"Location": to})

    @property
    def paths(self) -> list[str]:
        return [path for path, _, _ in self.requests]


@contextmanager
def serve_feeds() -> Iterator[FeedSite]:
    """A site on a loopback port that answers what its ``pages`` hold (404 otherwise) and
    records every request, until the block ends."""
    served = FeedSite()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.requests.append(
                (self.path, self.headers.get("User-Agent", ""), time.monotonic())
            )
            status, media_type, body, headers = served.pages.get(
                self.path, (404, "text/plain", b"not found", {})
            )
            self.send_response(status)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    served.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield served
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


# -- feeds ------------------------------------------------------------------------------------


def entry_id(number: int) -> str:
    return f"tag:old.example,2020:post:{number}"


def content(number: int) -> str:
    """An entry's HTML as Broadsheet writes it: the lead image's figure first."""
    return (
        f'<figure><img src="https://img.old.example/{number}.jpg" alt="">\n<figcaption>'
        f'Legenda {number} <span class="credit">Foto: Eva</span></figcaption></figure>'
        f'<p>Texto {number} <a href="/about">sobre</a></p>'
    )


def atom(numbers: list[int], prev: str | None = None, **changed: str) -> str:
    """An Atom feed of the entries ``numbers`` (newest first); ``changed`` maps an entry
    number (as text) to another title, for an older copy of it."""
    link = f'<link rel="prev-archive" href="{prev}"/>' if prev else ""
    entries = "".join(
        f"""<entry><id>{entry_id(n)}</id><title>{changed.get(str(n), f"Post {n}")}</title>
        <published>2020-01-0{n}T10:00:00Z</published>
        <updated>2020-01-0{n}T{"11" if str(n) in changed else "12"}:00:00Z</updated>
        <author><name>Ana</name><email>ana@old.example</email></author><author><name>Rui</name></author>
        <link rel="alternate" href="/{n}/post-{n}/"/>
        <link rel="enclosure" type="image/jpeg" length="1000" href="https://img.old.example/{n}.jpg"/>
        <category term="Cidade" scheme="https://old.example/category/"/>
        <category term="chuva" scheme="https://old.example/tag/"/>
        <summary>Resumo {n}</summary>
        <content type="html">{escape(content(n))}</content></entry>"""
        for n in numbers
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>tag:old.example,2020:feed</id>
<title>Old Site</title><updated>2020-01-09T00:00:00Z</updated>{link}{entries}</feed>"""


def rss(numbers: list[int], without_guid: tuple[int, ...] = ()) -> str:
    items = "".join(
        f"""<item><title>Item {n}</title><link>https://old.example/?p={n}</link>
        {"" if n in without_guid else f'<guid isPermaLink="false">{entry_id(n)}</guid>'}
        <pubDate>Thu, 0{n} Jan 2020 10:00:00 +0000</pubDate><dc:creator>Eva Lima</dc:creator>
        <category>Geral</category><category domain="post_tag">praia</category>
        <description>&lt;p&gt;Corpo {n}&lt;/p&gt;</description></item>"""
        for n in numbers
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>Old RSS</title><link>https://old.example/</link><description>d</description>
<language>pt-br</language>{items}</channel></rss>"""


def json_feed(numbers: list[int], next_url: str | None = None, version: str = "1.1") -> str:
    feed: dict[str, Any] = {
        "version": f"https://jsonfeed.org/version/{version}",
        "title": "Old JSON",
        "items": [
            {
                "id": entry_id(n),
                "title": f"JSON {n}",
                "content_html": f"<p>JSON body {n}</p>",
                "date_published": f"2020-01-0{n}T10:00:00Z",
                "tags": ["mar"],
                "image": f"https://img.old.example/{n}.png",
            }
            for n in numbers
        ],
    }
    if version == "1":
        feed["author"] = {"name": "Old Author"}
    else:
        feed["authors"] = [{"name": "New Author"}]
    if next_url:
        feed["next_url"] = next_url
    return json.dumps(feed)
