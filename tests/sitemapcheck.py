"""Validators for sitemaps, for any test that produces one.

- ``assert_valid_sitemap``: the document validates against the sitemaps.org protocol's
  schema with Google's image and news extensions (``schemas/sitemap-extensions.xsd``, which
  imports ``sitemap.xsd``, ``sitemap-image.xsd`` and ``sitemap-news.xsd``), keeps within the
  protocol's limits, and a real sitemap parser (ultimate-sitemap-parser) reads it as a
  sitemap of exactly its URLs.
- ``assert_valid_sitemap_index``: the same for an index (``schemas/siteindex.xsd``).

Each raises ``AssertionError`` with the validator's own message.
"""

from __future__ import annotations

import functools
from pathlib import Path

from lxml import etree
from usp.objects.page import SitemapPage
from usp.objects.sitemap import IndexXMLSitemap
from usp.objects.sitemap import PagesXMLSitemap
from usp.tree import sitemap_from_str

SCHEMAS = Path(__file__).parent / "schemas"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
MAX_URLS = 50_000
MAX_BYTES = 50 * 1024 * 1024

# No network, no DTDs, no entity expansion: the documents under test are our own output.
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@functools.cache
def _schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def _validate(body: bytes, schema_name: str, root_name: str) -> etree._Element:
    assert len(body) <= MAX_BYTES, f"{len(body)} bytes: over the protocol's 50 MB"
    root = etree.fromstring(body, _XML_PARSER)
    assert root.tag == f"{{{SITEMAP_NS}}}{root_name}", f"root is {root.tag}, not {root_name}"
    assert len(root) <= MAX_URLS, f"{len(root)} entries: over the protocol's 50,000"
    schema = _schema(schema_name)
    assert schema.validate(root), str(schema.error_log)
    return root


def _locs(root: etree._Element) -> list[str]:
    return [str(child.findtext(f"{{{SITEMAP_NS}}}loc")) for child in root]


def assert_valid_sitemap(body: bytes) -> list[SitemapPage]:
    """Assert ``body`` is a valid sitemap (``urlset``); return its pages as the parser
    read them, in document order."""
    root = _validate(body, "sitemap-extensions.xsd", "urlset")
    parsed = sitemap_from_str(body.decode("utf-8"))
    assert isinstance(parsed, PagesXMLSitemap), f"parsed as {type(parsed).__name__}"
    pages = list(parsed.all_pages())
    assert [page.url for page in pages] == _locs(root)
    return pages


def assert_valid_sitemap_index(body: bytes) -> list[str]:
    """Assert ``body`` is a valid sitemap index; return the URLs of its sitemaps as the
    parser read them."""
    root = _validate(body, "siteindex.xsd", "sitemapindex")
    parsed = sitemap_from_str(body.decode("utf-8"))
    assert isinstance(parsed, IndexXMLSitemap), f"parsed as {type(parsed).__name__}"
    urls = [sitemap.url for sitemap in parsed.sub_sitemaps]
    assert urls == _locs(root)
    return urls
