"""No script runs that the publisher did not intend: every XSS payload, in a real browser.

Every payload of :mod:`tests.xss_payloads` is posted through the API into every field a
publisher writes (title, summary, body as Markdown and as HTML, author name and URL,
image URL, caption and credit, categories), the feeds are rendered, and the site
is served over real HTTP and opened in headless Chromium (Debian's ``chromium``, driven by
Playwright; no browser is ever downloaded): the front page, every permalink page, every
category listing page and the browser view (XSLT) of the RSS and Atom feeds.

Each page is opened twice: once as served, and once with the Content-Security-Policy
bypassed, which shows that escaping and sanitising hold on their own and the policy is a
second wall, not the only one. On every page:

- no dialog opens and no ``window.__xss`` is set, in any frame, and no script error is
  reported (the site has no script, so any error means some script ran);
- the page does not navigate away and opens no window;
- no request leaves for another origin except images: every request to another origin is
  aborted by the test (nothing leaves the machine) and recorded; images are what a
  publisher intends (lead images and inline images live on other origins, and the policy
  allows ``https:`` images), so they are counted; a script, stylesheet, frame, document,
  fetch, media, font or beacon request to another origin fails the test;
- the DOM holds only elements the templates and the sanitiser allow, no ``on*``
  attribute, no ``style`` attribute, and no URL with a scheme other than http(s) or mailto;
- every payload sent as text reads back, as text, exactly as sent.

Bodies are batched several payloads to an article only where sanitising the batch gives
exactly the payloads' own results one after another, so that no payload (an unclosed
comment, say) can hide the ones after it. Category names get one listing page each: the
listing's heading holds one name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app.content import absolute_url
from app.content import render_body
from app.domain import BodyFormat
from app.domain import term_slug
from app.web.application import close_app
from app.web.application import create_app
from tests.conftest import FakeClock
from tests.conftest import settings_for
from tests.live import LiveServer
from tests.live import real_clock_environment
from tests.live import serve
from tests.xss_payloads import BARE_URL
from tests.xss_payloads import KINDS
from tests.xss_payloads import PAYLOADS

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# In CI (CI=true) a missing browser is a failure, not a skip.
REQUIRE_BROWSER = os.environ.get("CI") == "true" or os.environ.get("REQUIRE_BROWSER") == "1"
ARTICLES = "/api/v1/articles"
TITLE_LIMIT = 500
CREDIT_LIMIT = 500
AUTHOR_LIMIT = 200
CATEGORY_LIMIT = 100
MAX_TERMS = 20
MAX_AUTHORS = 20
SAFE_IMAGE = "https://images.example.net/lead-{}.png"
TEXTS = [payload.text for payload in PAYLOADS]
ENFORCED = "policy enforced"
BYPASSED = "policy bypassed"
MODES = (ENFORCED, BYPASSED)
# With the policy enforced, every few category pages: they share the front page's template.
ENFORCED_CATEGORY_STEP = 20
GROUPS = ("front page", "permalink pages", "category pages", "feed views")


# -- publishing every payload ---------------------------------------------------------------


@dataclass
class Published:
    """What one article was sent with (after any URL the API refused was dropped)."""

    slug: str
    title: str
    summary: str
    body_format: str
    body: list[str]
    authors: list[dict[str, Any]]
    image: dict[str, Any]
    categories: list[str]


@dataclass
class Site:
    live: LiveServer
    articles: list[Published]
    category_paths: dict[str, str]
    refused_urls: list[str]
    accepted_urls: list[str]

    @property
    def origin(self) -> str:
        return self.live.url

    def paths(self, group: str) -> list[str]:
        if group == "front page":
            return ["/"]
        if group == "permalink pages":
            return [f"/articles/{article.slug}" for article in self.articles]
        if group == "category pages":
            return list(self.category_paths.values())
        return ["/feed.rss", "/feed.atom"]


def joined_groups(texts: list[str], limit: int, separator: str = " | ") -> list[list[str]]:
    """Consecutive groups of ``texts`` whose joined length stays within ``limit``."""
    groups: list[list[str]] = [[]]
    for text in texts:
        if groups[-1] and len(separator.join([*groups[-1], text])) > limit:
            groups.append([])
        groups[-1].append(text)
    return groups


def body_batches(texts: list[str], body_format: BodyFormat) -> list[list[str]]:
    """Batches whose sanitised HTML is exactly each payload's own, one after another."""
    base = "https://news.example.org"
    alone = {text: render_body(text, body_format, base) for text in texts}
    batches: list[list[str]] = []
    for text in texts:
        if batches:
            trial = [*batches[-1], text]
            together = render_body("\n\n".join(trial), body_format, base)
            # Whitespace between the payloads' results may differ; nothing else may.
            if together.split() == " ".join(alone[t] for t in trial).split():
                batches[-1].append(text)
                continue
        batches.append([text])
    return batches


def _accepted_as_url(client: Any, auth: dict[str, str]) -> tuple[list[str], list[str]]:
    """Which payloads the API takes as a URL (probed as author URLs of a draft)."""
    accepted: list[str] = []
    refused: list[str] = []
    for chunk in (TEXTS[i : i + MAX_AUTHORS] for i in range(0, len(TEXTS), MAX_AUTHORS)):
        probe = {
            "title": "probe",
            "body": "probe",
            "authors": [{"name": "probe", "url": text} for text in chunk],
        }
        response = client.post(ARTICLES, json=probe, headers=auth)
        if response.status_code == 201:
            bad: set[int] = set()
            assert client.delete(f"{ARTICLES}/{response.get_json()['id']}", headers=auth)
        else:
            assert response.status_code == 422, response.get_json()
            fields = [error["field"] for error in response.get_json()["errors"]]
            assert all(f.startswith("authors.") and f.endswith(".url") for f in fields), fields
            bad = {int(f.split(".")[1]) for f in fields}
        for index, text in enumerate(chunk):
            (refused if index in bad else accepted).append(text)
    return accepted, refused


def publish_everything(
    app: Flask, clock: FakeClock
) -> tuple[list[Published], list[str], list[str]]:
    renderer = app.extensions["broadsheet"].renderer
    _, secret = app.extensions["broadsheet"].access.create_token("xss", clock())
    auth = {"Authorization": f"Bearer {secret}"}
    client = app.test_client()
    accepted, refused = _accepted_as_url(client, auth)

    titles = [" | ".join(group) for group in joined_groups(TEXTS, TITLE_LIMIT)]
    credits = [" | ".join(group) for group in joined_groups(TEXTS, CREDIT_LIMIT)]
    # Each distinct name has its own page and feeds: packing names keeps them few.
    names = [" | ".join(group) for group in joined_groups(TEXTS, AUTHOR_LIMIT)]
    categories = [
        f"c{number:02d} " + " | ".join(group)
        for number, group in enumerate(joined_groups(TEXTS, CATEGORY_LIMIT - 4))
    ]
    bodies = [("markdown", batch) for batch in body_batches(TEXTS, BodyFormat.MARKDOWN)]
    bodies += [("html", batch) for batch in body_batches(TEXTS, BodyFormat.HTML)]
    count = max(len(titles), len(bodies), -(-len(categories) // MAX_TERMS))
    articles = []
    for number in range(count):
        body_format, body = bodies[number % len(bodies)]
        authors = [
            {"name": name, **({"url": accepted[index]} if index < len(accepted) else {})}
            for index, name in enumerate(names)
            if index % count == number
        ] or [{"name": names[number % len(names)]}]
        sent = {
            "title": titles[number % len(titles)],
            "slug": f"xss-{number:03d}",
            "summary": titles[number % len(titles)],
            "body": "\n\n".join(body),
            "body_format": body_format,
            "authors": authors,
            "categories": categories[number::count],
            "image": {
                "url": accepted[number] if number < len(accepted) else SAFE_IMAGE.format(number),
                # Hostile URLs name no image type by their extension: the type is sent.
                "type": "image/png",
                "caption": titles[number % len(titles)],
                "credit": credits[number % len(credits)],
            },
            "published_at": (clock() - timedelta(minutes=number + 1)).isoformat(),
        }
        response = client.post(ARTICLES, json=sent, headers=auth)
        assert response.status_code == 201, response.get_json()
        stored = response.get_json()
        article = Published(
            slug=stored["slug"],
            title=stored["title"],
            summary=stored["summary"],
            body_format=body_format,
            body=body,
            authors=stored["authors"],
            image=stored["image"],
            categories=stored["categories"],
        )
        articles.append(article)
    report = renderer.render_due_feeds(clock())
    assert not report.failed, report
    return articles, accepted, refused


# Pages that let payloads through on purpose (served with the site's headers), to show
# that the checks below notice: a detector that never fires proves nothing.
CANARIES = {
    "runs": "<script>window.__xss=1</script><img src=x onerror=alert(1)>",
    "leaks": '<script src="https://evil.example/x.js"></script><p style="color:red">x</p>',
    "navigates": '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
}


def add_canaries(app: Flask) -> None:
    def canary(name: str) -> tuple[str, int, dict[str, str]]:
        payload = CANARIES.get(name, "")
        page = f"<!doctype html><title>canary</title><body><p>{payload}</p></body>"
        return page, 200 if payload else 404, {"Content-Type": "text/html; charset=utf-8"}

    app.add_url_rule("/canary/<name>", "canary", canary)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite_file: Path) -> Iterator[Site]:
    """The site with every payload published, served over HTTP at its own base URL."""
    path = tmp_path_factory.mktemp("browser") / "broadsheet.db"
    shutil.copyfile(migrated_sqlite_file, path)
    clock = FakeClock()
    front = Flask("front")  # the server needs a port before the app knows its base URL
    with serve(front) as live:
        overrides = settings_for(
            f"sqlite:///{path}",
            site_base_url=live.url,
            feed_item_limit=1000,
            site_icon="/static/demo/chart.svg",
            site_logo=SAFE_IMAGE.format("logo"),
        )
        app = create_app(overrides, clock=clock, environ={})
        add_canaries(app)
        front.wsgi_app = app  # type: ignore[method-assign]
        try:
            articles, accepted, refused = publish_everything(app, clock)
            categories = {
                name: f"/category/{term_slug(name)}"
                for article in articles
                for name in article.categories
            }
            yield Site(live, articles, categories, refused, accepted)
        finally:
            close_app(app)


# -- the browser ------------------------------------------------------------------------------


# Runs in the page once it has loaded: lets pending events and timers fire, then reports
# any sign of a payload that ran, every element, attribute and URL the site must never
# produce, and the text of the elements that show what the publisher sent.
INSPECT = """async ({allowedBody, selectors}) => {
  await new Promise((done) => setTimeout(done, 25));
  const allowed = new Set(allowedBody);
  const allowedHead = new Set(["META", "TITLE", "LINK", "SCRIPT"]);
  const urlAttributes = new Set(["href", "src", "action", "formaction", "xlink:href",
    "poster", "background", "lowsrc", "dynsrc", "data", "codebase", "cite", "longdesc",
    "ping", "srcset", "manifest", "icon", "profile"]);
  const problems = [];
  const describe = (el) => el.outerHTML.slice(0, 160);
  for (const el of document.head ? document.head.querySelectorAll("*") : []) {
    if (!allowedHead.has(el.tagName)) problems.push("head element: " + describe(el));
    if (el.tagName === "META" && el.hasAttribute("http-equiv"))
      problems.push("meta http-equiv: " + describe(el));
    // The one script element a page may have: an article's JSON-LD, a data block.
    if (el.tagName === "SCRIPT" && (el.attributes.length !== 1
        || el.getAttribute("type") !== "application/ld+json"))
      problems.push("head script: " + describe(el));
    if (el.tagName === "LINK") {
      const rel = (el.getAttribute("rel") || "").toLowerCase();
      if (!["stylesheet", "canonical", "alternate", "icon"].includes(rel))
        problems.push("link rel: " + describe(el));
      if (rel === "stylesheet" && el.href !== location.origin + "/static/style.css")
        problems.push("stylesheet: " + describe(el));
    }
  }
  for (const el of document.querySelectorAll("*")) {
    const inBody = document.body && document.body.contains(el) && el !== document.body;
    const browserUi = el.tagName === "XSLT-WARNING-BANNER";  // Chromium's own notice
    if (inBody && !allowed.has(el.tagName) && !browserUi)
      problems.push("element: " + describe(el));
    for (const attribute of el.attributes) {
      const name = attribute.name.toLowerCase();
      if (name.startsWith("on")) problems.push("handler: " + describe(el));
      if (name === "style" && !browserUi) problems.push("style attribute: " + describe(el));
      if (name === "srcdoc") problems.push("srcdoc: " + describe(el));
      if (urlAttributes.has(name)) {
        const value = attribute.value.replace(/[\\u0000-\\u0020]/g, "").toLowerCase();
        const scheme = /^([a-z][a-z0-9+.-]*):/.exec(value);
        if (scheme && !["http", "https", "mailto"].includes(scheme[1]))
          problems.push("url: " + describe(el));
      }
    }
  }
  const flags = [window.__xss, window.top.__xss, window.parent.__xss]
    .filter((value) => value !== undefined).map(String);
  const texts = {};
  for (const selector of selectors)
    texts[selector] = [...document.querySelectorAll(selector)].map((el) => el.textContent);
  const links = [...document.querySelectorAll("a[href]")].map((a) => a.href);
  const jsonld = [...document.querySelectorAll('script[type="application/ld+json"]')]
    .map((el) => el.textContent);
  return {problems, flags, frames: window.frames.length, texts, links, jsonld,
          bodyClass: document.body ? document.body.className : null,
          sheets: [...document.styleSheets].map((s) => [s.href, s.cssRules.length])};
}"""
# What the templates, the XSLT view and the sanitiser produce; nothing else may appear.
BODY_TAGS = sorted(
    {
        "A", "ARTICLE", "CODE", "DIV", "FIGCAPTION", "FIGURE", "FOOTER", "H1", "H2", "HEADER",
        "IMG", "LI", "MAIN", "NAV", "P", "SECTION", "SPAN", "TIME", "UL",
        # the sanitiser's allowed tags (app/content.py)
        "ABBR", "B", "BLOCKQUOTE", "BR", "CAPTION", "CITE", "DD", "DEL", "DL", "DT", "EM",
        "H3", "H4", "H5", "H6", "HR", "I", "INS", "KBD", "MARK", "OL", "PRE", "Q", "S",
        "SMALL", "STRONG", "SUB", "SUP", "TABLE", "TBODY", "TD", "TFOOT", "TH", "THEAD",
        "TR", "U",
    }
)  # fmt: skip
# The elements whose text must read back as sent, and the links that must be http(s).
SELECTORS = [
    "h1.story-title", ".standfirst", ".byline .p-author", "figcaption .credit",
    "li.p-category", "h1.section-heading", "article.teaser .teaser-title a",
]  # fmt: skip


@dataclass
class Visit:
    """What happened while one page was open."""

    url: str
    status: int | None = None
    dialogs: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)
    navigations: list[str] = field(default_factory=list)
    popups: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    audit: list[str] = field(default_factory=list)
    frames: int = 0
    blocked_by_policy: list[str] = field(default_factory=list)
    own_resources_blocked: list[str] = field(default_factory=list)
    off_origin_images: list[str] = field(default_factory=list)
    off_origin_other: list[str] = field(default_factory=list)
    texts: dict[str, list[str]] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)
    jsonld: list[str] = field(default_factory=list)
    body_class: str | None = None
    sheets: list[list[Any]] = field(default_factory=list)

    def problems(self) -> dict[str, list[str]]:
        found = {
            "status": [] if self.status == 200 else [f"status {self.status}"],
            "dialogs": self.dialogs,
            "script errors": self.script_errors,
            "navigations": self.navigations,
            "popups": self.popups,
            "window.__xss": self.flags,
            "frames": [f"{self.frames} frames"] if self.frames else [],
            "DOM": self.audit,
            "own resources blocked by the policy": self.own_resources_blocked,
            "requests to other origins": self.off_origin_other,
        }
        return {name: values for name, values in found.items() if values}


class Tab:
    """One browser page, reused for every visit, recording what each visit does."""

    def __init__(self, context: Any, origin: str) -> None:
        self.origin = origin
        self.page = context.new_page()
        self.visit = Visit("")
        context.on("page", lambda page: self.visit.popups.append(page.url))
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda error: self.visit.script_errors.append(str(error)))
        self.page.on("console", self._console)
        self.page.on("framenavigated", self._navigated)
        # Only requests to other origins come to Python (a pattern is matched in the driver).
        self.page.route(re.compile("^(?!" + re.escape(origin + "/") + ")"), self._route)

    def open(self, path: str) -> Visit:
        url = self.origin + path
        self.visit = visit = Visit(url)
        response = self.page.goto(url, wait_until="load")
        visit.status = response.status if response is not None else None
        try:
            found = self.page.evaluate(INSPECT, {"allowedBody": BODY_TAGS, "selectors": SELECTORS})
        except Exception as error:  # the page went away under the test: a navigation
            visit.navigations.append(f"while checking: {error}")
            return visit
        visit.audit = found["problems"]
        visit.flags = found["flags"]
        visit.frames = found["frames"]
        visit.texts = found["texts"]
        visit.links = found["links"]
        visit.jsonld = found["jsonld"]
        visit.body_class = found["bodyClass"]
        visit.sheets = found["sheets"]
        return visit

    def _dialog(self, dialog: Any) -> None:
        self.visit.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _console(self, message: Any) -> None:
        text = message.text
        if "Content Security Policy" not in text:
            return
        if self.origin + "/static/" in text:
            self.visit.own_resources_blocked.append(text)
        else:
            self.visit.blocked_by_policy.append(text)

    def _navigated(self, frame: Any) -> None:
        if frame.url != self.visit.url:
            self.visit.navigations.append(frame.url)

    def _route(self, route: Any) -> None:
        target = route.request
        if target.resource_type == "image" and not target.is_navigation_request():
            self.visit.off_origin_images.append(target.url)
        else:
            self.visit.off_origin_other.append(f"{target.resource_type} {target.url}")
        route.abort()


@pytest.fixture(scope="module")
def tabs(site: Site) -> Iterator[dict[str, Tab]]:
    """A tab with the site's policy enforced and one with it bypassed."""
    problem = None
    if not CHROMIUM.is_file():
        problem = f"{CHROMIUM} is missing: install Debian's chromium package"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "the playwright package is missing: pip install -e '.[test]'"
    if problem:
        if REQUIRE_BROWSER:
            pytest.fail(problem)
        pytest.skip(problem)
    with sync_playwright() as playwright:
        # The browser is the tests' instrument, on the real clock: under libfaketime
        # (tools/shifted-clock) Chromium's processes spend so long in the clock that a
        # page takes longer to load than a test waits. The service keeps the moved clock.
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=LAUNCH_ARGS, env=real_clock_environment()
        )
        try:
            yield {
                mode: Tab(
                    browser.new_context(
                        bypass_csp=mode == BYPASSED,
                        viewport={"width": 480, "height": 360},  # small: less to paint
                    ),
                    site.origin,
                )
                for mode in MODES
            }
        finally:
            browser.close()


@pytest.fixture(scope="module")
def visits(site: Site, tabs: dict[str, Tab]) -> dict[tuple[str, str], list[Visit]]:
    """Every page of every group with the policy bypassed, most of them also enforced.

    A bypassed policy only lets more happen, so that pass is the one that proves escaping
    and sanitising on every page; the enforced pass shows the site works under its policy.
    """
    opened: dict[tuple[str, str], list[Visit]] = {}
    for mode in MODES:
        for group in GROUPS:
            paths = site.paths(group)
            if mode == ENFORCED and group == "category pages":
                paths = paths[::ENFORCED_CATEGORY_STEP]
            opened[mode, group] = [tabs[mode].open(path) for path in paths]
    return opened


# -- the tests --------------------------------------------------------------------------------


def test_the_payloads_cover_every_class() -> None:
    assert len(TEXTS) == len(set(TEXTS)) >= 150
    kinds = {payload.kind for payload in PAYLOADS}
    assert kinds == set(KINDS)
    for kind in KINDS:
        assert sum(payload.kind == kind for payload in PAYLOADS) >= 5, kind
    assert max(len(text) for text in TEXTS) <= 90


def test_every_payload_is_published_in_every_field(site: Site) -> None:
    """Each payload reaches each field, except URLs the API refuses (never http(s))."""
    articles = site.articles

    def parts(values: list[str]) -> set[str]:
        return {part.strip() for value in values for part in value.split(" | ")}

    in_author_urls = {author["url"] for a in articles for author in a.authors if author["url"]}
    in_image_urls = {a.image["url"] for a in articles}
    fields = {
        "title": parts([a.title for a in articles]),
        "summary": parts([a.summary for a in articles]),
        "caption": parts([a.image["caption"] for a in articles]),
        "credit": parts([a.image["credit"] for a in articles]),
        "author": parts([author["name"] for a in articles for author in a.authors]),
        "category": parts([name.split(" ", 1)[1] for a in articles for name in a.categories]),
    }
    sent = {text.strip() for text in TEXTS}  # the API trims what surrounds a text
    for name, texts in fields.items():
        assert sent <= texts, name
    for body_format in ("markdown", "html"):
        bodies = {text for a in articles if a.body_format == body_format for text in a.body}
        assert bodies == set(TEXTS), body_format
    # A path may be stored as an absolute URL on this site.
    for url in site.accepted_urls:
        assert {url, absolute_url(url, site.origin)} & in_author_urls, url
        assert absolute_url(url, site.origin) in in_image_urls, url
    assert set(site.accepted_urls) | set(site.refused_urls) == set(TEXTS)
    for text in site.accepted_urls:
        assert text.startswith(("https://", "http://", "/")) and not text.startswith("//")
    bare = {payload.text for payload in PAYLOADS if payload.kind == BARE_URL}
    assert {text for text in bare if not text.startswith(("https://", "/static"))} <= set(
        site.refused_urls
    )


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("mode", MODES)
def test_no_payload_runs_navigates_or_reaches_another_origin(
    visits: dict[tuple[str, str], list[Visit]], mode: str, group: str
) -> None:
    opened = visits[mode, group]

    problems = {visit.url: visit.problems() for visit in opened if visit.problems()}
    assert problems == {}
    assert opened
    for visit in opened:
        assert all(link.startswith(("https://", "http://", "mailto:")) for link in visit.links)
    if group != "feed views":
        # Payload images over https are content the policy allows; the test blocked them.
        assert any(visit.off_origin_images for visit in opened)


def test_permalink_pages_show_every_payload_as_the_text_sent(
    site: Site, visits: dict[tuple[str, str], list[Visit]]
) -> None:
    for article, visit in zip(site.articles, visits[BYPASSED, "permalink pages"], strict=True):
        texts = visit.texts
        assert texts["h1.story-title"] == [article.title]
        assert texts[".standfirst"] == [article.summary]
        assert texts[".byline .p-author"] == [author["name"] for author in article.authors]
        assert texts["figcaption .credit"] == [article.image["credit"]]
        assert texts["li.p-category"] == article.categories


@pytest.mark.parametrize("mode", MODES)
def test_permalink_pages_carry_every_payload_as_data_the_policy_lets_be(
    site: Site, visits: dict[tuple[str, str], list[Visit]], mode: str
) -> None:
    """The JSON-LD reads back as sent, and the browser takes it for data: with the
    policy enforced, no script is refused on any permalink page."""
    for article, visit in zip(site.articles, visits[mode, "permalink pages"], strict=True):
        (block,) = visit.jsonld
        data = json.loads(block)
        assert data["@type"] == "NewsArticle"
        assert data["headline"] == article.title
        assert data["description"] == article.summary
        assert [person["name"] for person in data["author"]] == [
            author["name"] for author in article.authors
        ]
        assert data["articleSection"] == article.categories
        assert data["publisher"]["logo"]["url"] == SAFE_IMAGE.format("logo")
        assert not [text for text in visit.blocked_by_policy if "script-src" in text]


def test_category_pages_are_headed_by_the_name_sent(
    site: Site, visits: dict[tuple[str, str], list[Visit]]
) -> None:
    opened = visits[BYPASSED, "category pages"]
    headings = [visit.texts["h1.section-heading"] for visit in opened]
    assert headings == [[name] for name in site.category_paths]


def test_the_front_page_lists_every_title_as_sent(
    site: Site, visits: dict[tuple[str, str], list[Visit]]
) -> None:
    (front,) = visits[BYPASSED, "front page"]
    assert front.texts["article.teaser .teaser-title a"] == [a.title for a in site.articles]


@pytest.mark.parametrize("path", ["/feed.rss", "/feed.atom"])
def test_the_feed_views_render_under_the_policy(
    site: Site, visits: dict[tuple[str, str], list[Visit]], path: str
) -> None:
    (visit,) = [v for v in visits[ENFORCED, "feed views"] if v.url == site.origin + path]

    assert visit.problems() == {}
    assert visit.body_class == "feed-preview"  # the XSLT ran
    assert len(visit.sheets) == 1
    assert visit.sheets[0][0] == site.origin + "/static/style.css" and visit.sheets[0][1] > 0
    titles = visit.texts["article.teaser .teaser-title a"]
    # The view folds whitespace (XPath normalize-space).
    assert titles == [" ".join(article.title.split()) for article in site.articles]


@pytest.mark.parametrize("mode", MODES)
def test_the_checks_notice_a_page_that_lets_payloads_through(
    tabs: dict[str, Tab], mode: str
) -> None:
    tab = tabs[mode]
    runs, leaks, navigates = (tab.open(f"/canary/{name}") for name in CANARIES)

    for visit in (runs, leaks):
        assert any("element: <script" in problem for problem in visit.audit)
    assert any("handler: <img" in problem for problem in runs.audit)
    assert any("style attribute" in problem for problem in leaks.audit)
    # No policy stops a <meta> refresh from navigating: only escaping and sanitising do.
    # (The test aborts the navigation; the page is left all the same.)
    assert navigates.navigations
    assert "document https://evil.example/" in navigates.off_origin_other
    if mode == ENFORCED:
        # The policy stops the script and the style: the DOM audit and the console tell.
        assert not runs.dialogs and not runs.flags
        assert runs.blocked_by_policy and leaks.blocked_by_policy
        assert not leaks.off_origin_other
    else:
        assert runs.dialogs == ["alert: 1"] and runs.flags
        assert leaks.off_origin_other == ["script https://evil.example/x.js"]
