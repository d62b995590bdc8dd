"""Validators for rendered feeds, for any test that produces one.

- ``assert_valid_rss``: feedparser parses it as RSS 2.0 without complaint (bozo 0), and the
  channel and items carry what RSS 2.0 requires.
- ``assert_valid_atom``: feedparser parses it as Atom 1.0 without complaint, it validates
  against the normative RELAX NG schema of RFC 4287 (``schemas/atom.rnc``, converted once per
  process with rnc2rng), and it satisfies the two Schematron rules that the schema carries as
  annotations (RELAX NG itself ignores them).
- Both XML validators also check the extension elements the way the W3C Feed Validation
  Service does (it cannot run here): syndication-module names are case-sensitive and their
  values restricted (``UndefinedElement``, ``InvalidUpdatePeriod``); ``fh:archive`` and the
  RFC 5005 link relations belong to the feed, not an entry (``FeedHistoryRelInEntry``); a
  ``media:group`` needs alternatives (``MediaGroupWithoutAlternatives``).
- ``assert_valid_json_feed``: UTF-8 JSON that validates against ``schemas/jsonfeed-1.1.schema.json``
  (JSON Schema draft 2020-12), whose own validity is checked first.

Each raises ``AssertionError`` with the parser's or validator's own message.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import feedparser
import jsonschema
import rnc2rng
from lxml import etree

SCHEMAS = Path(__file__).parent / "schemas"
ATOM_NS = "http://www.w3.org/2005/Atom"
SY_NS = "http://purl.org/rss/1.0/modules/syndication/"
FH_NS = "http://purl.org/syndication/history/1.0"
MEDIA_NS = "http://search.yahoo.com/mrss/"

_SY_ELEMENTS = {"updatePeriod", "updateFrequency", "updateBase"}
_SY_PERIODS = {"hourly", "daily", "weekly", "monthly", "yearly"}
_FH_ELEMENTS = {"archive", "complete"}
_HISTORY_RELATIONS = {"current", "prev-archive", "next-archive"}

# No network, no DTDs, no entity expansion: the documents under test are our own output.
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def assert_valid_rss(body: bytes) -> feedparser.FeedParserDict:
    """Assert ``body`` is a well-formed RSS 2.0 document; return feedparser's result."""
    parsed = _feedparser(body, expected_version="rss20")
    root = _xml(body)
    assert root.tag == "rss" and root.get("version") == "2.0", "root must be <rss version=2.0>"
    channels = root.findall("channel")
    assert len(channels) == 1, f"RSS needs exactly one <channel>, found {len(channels)}"
    channel = channels[0]
    for required in ("title", "link", "description"):
        assert (channel.findtext(required) or "").strip(), f"<channel> lacks <{required}>"
    for index, item in enumerate(channel.findall("item")):
        # RSS 2.0: "at least one of title or description must be present".
        assert item.find("title") is not None or item.find("description") is not None, (
            f"item {index} has neither <title> nor <description>"
        )
    _check_extension_elements(root, feed_level=channel, entry_tag="item")
    return parsed


def assert_valid_atom(body: bytes) -> feedparser.FeedParserDict:
    """Assert ``body`` is a valid Atom 1.0 feed (RFC 4287); return feedparser's result."""
    parsed = _feedparser(body, expected_version="atom10")
    document = etree.ElementTree(_xml(body))
    schema = _atom_relax_ng()
    if not schema.validate(document):
        errors = "\n".join(
            f"line {error.line}: {error.message}" for error in schema.error_log.filter_from_errors()
        )
        raise AssertionError(f"Atom document does not match RFC 4287 Appendix B:\n{errors}")
    _check_atom_schematron_rules(document.getroot())
    root = document.getroot()
    _check_extension_elements(root, feed_level=root, entry_tag=f"{{{ATOM_NS}}}entry")
    return parsed


def assert_valid_json_feed(body: bytes) -> dict[str, Any]:
    """Assert ``body`` is a valid JSON Feed 1.1 document (UTF-8); return the decoded object."""
    try:
        feed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AssertionError(f"not UTF-8 JSON: {error}") from error
    errors = sorted(_json_feed_validator().iter_errors(feed), key=lambda error: error.json_path)
    if errors:
        lines = "\n".join(f"{error.json_path}: {error.message}" for error in errors)
        raise AssertionError(f"JSON Feed 1.1 schema violations:\n{lines}")
    assert isinstance(feed, dict)
    return feed


def json_feed_validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    """A draft 2020-12 validator for ``schema``; raises SchemaError if the schema is invalid."""
    validator_class = jsonschema.Draft202012Validator
    validator_class.check_schema(schema)
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)


def _feedparser(body: bytes, expected_version: str) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(body)
    if parsed.bozo:
        raise AssertionError(f"feedparser rejects the feed: {parsed.bozo_exception!r}")
    assert parsed.version == expected_version, (
        f"feedparser reads the feed as {parsed.version!r}, expected {expected_version!r}"
    )
    return parsed


def _xml(body: bytes) -> etree._Element:
    try:
        return etree.fromstring(body, _XML_PARSER)
    except etree.XMLSyntaxError as error:
        raise AssertionError(f"not well-formed XML: {error}") from error


@functools.cache
def _atom_relax_ng() -> etree.RelaxNG:
    """The RFC 4287 schema as an lxml validator, converted from RNC once per process."""
    rng = rnc2rng.dumps(rnc2rng.loads((SCHEMAS / "atom.rnc").read_text(encoding="utf-8")))
    # rnc2rng declares `namespace local = ""` as xmlns:local="", which Namespaces in XML 1.0
    # forbids; the prefix is only used inside the RNC (as nsName ns="") and can go.
    rng = rng.replace(' xmlns:local=""', "")
    return etree.RelaxNG(etree.fromstring(rng.encode("utf-8"), _XML_PARSER))


def _check_atom_schematron_rules(feed: etree._Element) -> None:
    """The rules RFC 4287 Appendix B states as Schematron annotations (sections 4.1.1, 4.1.2)."""
    ns = {"atom": ATOM_NS}
    feed_has_author = bool(feed.findall("atom:author", ns))
    for index, entry in enumerate(feed.findall("atom:entry", ns)):
        has_alternate = any(
            link.get("rel", "alternate") == "alternate" for link in entry.findall("atom:link", ns)
        )
        assert has_alternate or entry.find("atom:content", ns) is not None, (
            f"entry {index} has neither an alternate link nor content"
        )
        has_author = bool(entry.findall("atom:author", ns)) or bool(
            entry.findall("atom:source/atom:author", ns)
        )
        assert has_author or feed_has_author, f"entry {index} has no author and the feed has none"


def _check_extension_elements(
    root: etree._Element, feed_level: etree._Element, entry_tag: str
) -> None:
    """The syndication module, RFC 5005 and Media RSS rules (see the module docstring)."""
    for element in root.iter(f"{{{SY_NS}}}*"):
        name = etree.QName(element).localname
        assert name in _SY_ELEMENTS, f"undefined syndication element sy:{name}"
        assert element.getparent() is feed_level, f"sy:{name} must be a child of the feed"
        if name == "updatePeriod":
            assert element.text in _SY_PERIODS, f"invalid sy:updatePeriod {element.text!r}"
        if name == "updateFrequency":
            text = element.text or ""
            assert text.isdigit() and int(text) > 0, f"invalid sy:updateFrequency {text!r}"
    for name in _SY_ELEMENTS:
        found = feed_level.findall(f"{{{SY_NS}}}{name}")
        assert len(found) <= 1, f"sy:{name} appears {len(found)} times"
    for element in root.iter(f"{{{FH_NS}}}*"):
        name = etree.QName(element).localname
        assert name in _FH_ELEMENTS, f"undefined feed history element fh:{name}"
        assert element.getparent() is feed_level, f"fh:{name} must be a child of the feed"
        assert len(element) == 0 and not (element.text or "").strip(), f"fh:{name} must be empty"
    for entry in root.iter(entry_tag):
        for link in entry.iter(f"{{{ATOM_NS}}}link"):
            assert link.get("rel") not in _HISTORY_RELATIONS, (
                f"RFC 5005 relation {link.get('rel')!r} inside an entry"
            )
    for group in root.iter(f"{{{MEDIA_NS}}}group"):
        contents = group.findall(f"{{{MEDIA_NS}}}content")
        assert len(contents) >= 2, "media:group without alternatives"


@functools.cache
def _json_feed_validator() -> jsonschema.protocols.Validator:
    path = SCHEMAS / "jsonfeed-1.1.schema.json"
    return json_feed_validator(json.loads(path.read_text(encoding="utf-8")))
