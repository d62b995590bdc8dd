"""What a feed profile does to an entry: the whole body, no body, or the first paragraphs
followed by a link to the page (:mod:`app.profiles` names the profiles).

Contract: pure and deterministic; the same entry, profile and language give the same
entry. Only the content changes (RSS ``content:encoded``, Atom ``content``, JSON Feed
``content_html``): the summary, the lead image and everything else stay. The cut is made
in the sanitised HTML of the entry at its top-level elements, each serialised whole by
lxml, so a teaser is never broken HTML.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import replace

import lxml.html
from babel import negotiate_locale

from app.profiles import SUMMARY
from app.profiles import FeedProfile
from app.rendering import FeedEntry

# The top-level elements of a sanitised body (app/content.py allows no others) that are
# blocks of their own; text and inline elements between them form a paragraph of their
# own (an HTML body need not wrap its paragraphs in <p>).
_BLOCKS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "figure", "blockquote", "pre", "hr",
     "ul", "ol", "dl", "table"}
)  # fmt: skip

# "Continue reading" in the languages it is known in; any other falls back to English.
# Babel matches a feed's language tag to these (pt-BR to pt, es-419 to es).
_CONTINUE_READING = {
    "en": "Continue reading",
    "pt": "Continuar lendo",
    "pt-pt": "Continuar a ler",
    "es": "Seguir leyendo",
    "fr": "Lire la suite",
    "de": "Weiterlesen",
    "it": "Continua a leggere",
    "nl": "Verder lezen",
}


def entry_in_profile(entry: FeedEntry, profile: FeedProfile, language: str) -> FeedEntry:
    """``entry`` as a feed of ``profile`` in ``language`` carries it: unchanged for the
    full profile (or an entry that carries no body already), without content for the
    summary one, and for ``paragraphs:N`` its first N paragraphs and a link to its page
    that says "continue reading" in ``language`` (unchanged when it has no more than N)."""
    if profile.is_full or entry.content_html is None:
        return entry
    if profile.kind == SUMMARY:
        return replace(entry, content_html=None)
    cut = leading_paragraphs(entry.content_html, profile.paragraphs)
    if cut is None:
        return entry
    return replace(entry, content_html=cut + continue_reading_html(entry.url, language))


def leading_paragraphs(fragment: str, count: int) -> str | None:
    """The top-level nodes of the HTML ``fragment`` up to its ``count``-th paragraph (a
    ``<p>``, or a run of text and inline elements between blocks), with the figures,
    headings and other blocks among them; ``None`` when nothing would be left out."""
    units = _top_level_units(fragment)
    kept: list[str] = []
    paragraphs = 0
    for is_paragraph, piece in units:
        kept.append(piece)
        paragraphs += is_paragraph
        if paragraphs == count:
            # Read on only as far as the first node that shows (whitespace does not).
            left_out = any(rest.strip() for _, rest in units)
            return "".join(kept) if left_out else None
    return None


def continue_reading_html(url: str, language: str) -> str:
    """The paragraph that links a teaser to its page, in ``language`` (else English)."""
    label = _CONTINUE_READING[_known_language(language)]
    return f'<p><a href="{html.escape(url)}">{html.escape(label)}</a></p>'


def _known_language(language: str) -> str:
    matched = negotiate_locale([language], list(_CONTINUE_READING), sep="-")
    return matched.lower() if matched is not None else "en"


def _top_level_units(fragment: str) -> Iterator[tuple[bool, str]]:
    """The fragment as (is a paragraph, its HTML) in order: each block element, and each
    run of text and inline elements between them (a paragraph if it shows anything).
    Serialised one by one, as they are asked for."""
    if not fragment.strip():
        return
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    run: list[str] = [html.escape(root.text, quote=False)] if root.text else []
    shows = bool(root.text and root.text.strip())
    for child in root:
        piece = lxml.html.tostring(child, encoding="unicode", with_tail=False)
        if isinstance(child.tag, str) and child.tag in _BLOCKS:
            if run:
                yield shows, "".join(run)
                run.clear()
            shows = False
            yield child.tag == "p", piece
        else:
            run.append(piece)
            shows = shows or isinstance(child.tag, str)
        if child.tail:
            run.append(html.escape(child.tail, quote=False))
            shows = shows or bool(child.tail.strip())
    if run:
        yield shows, "".join(run)
