"""A WordPress post's text as HTML: shortcodes handled and paragraphs made, before the
sanitiser every article body goes through (:func:`app.content.render_body`). Pure.

WordPress stores a classic-editor post as it was typed: paragraphs are text separated
by blank lines, and its own filters (``wpautop``, ``do_shortcode``) make the HTML when a
page is shown. An export carries the stored text, so an import must do the same.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

#: Shortcodes WordPress itself and the commonest plugins register: these are removed even
#: when written without attributes or a closing tag (``[gallery]``). Any other name in
#: brackets is a shortcode only when it has attributes, a closing tag or ``/]``: so
#: "[sic]" or "[1]" in a text stay as they are.
KNOWN_SHORTCODES = frozenset(
    {
        "audio", "embed", "gallery", "playlist", "video", "wp_caption", "caption",
        "contact-form-7", "contact-form", "gravityform", "instagram", "tweet", "youtube",
        "soundcloud", "vimeo", "googlemaps", "slideshow", "wpforms",
    }
)  # fmt: skip

_NAME = r"[A-Za-z][\w-]*"
_ATTRIBUTES = r"(?:\s[^\[\]]*?)?"
# [caption ...]inner[/caption] (and the older [wp_caption]).
_CAPTION = re.compile(
    r"\[(caption|wp_caption)(" + _ATTRIBUTES + r")\](.*?)\[/\1\]", re.DOTALL | re.IGNORECASE
)
_CAPTION_ATTRIBUTE = re.compile(r"""\bcaption\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ENCLOSING = re.compile(r"\[(" + _NAME + r")(" + _ATTRIBUTES + r")\](.*?)\[/\1\]", re.DOTALL)
_SELF_CLOSING = re.compile(r"\[(" + _NAME + r")(" + _ATTRIBUTES + r")\s*/\]")
_OPENING = re.compile(r"\[(" + _NAME + r")(" + _ATTRIBUTES + r")\]")
_ESCAPED = re.compile(r"\[(\[[^\[\]]*\])\]")  # [[gallery]]: the text "[gallery]"
# Hold an escaped shortcode's brackets while the others are removed.
_OPEN_MARK, _CLOSE_MARK = "\x00", "\x01"
# The block editor's (Gutenberg) delimiters, <!-- wp:paragraph -->: no text of their own.
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# Nested enclosing shortcodes are removed from the inside out, at most this deep.
_MAX_NESTING = 10

_BLOCK = (
    "address|article|aside|blockquote|dd|details|div|dl|dt|figcaption|figure|footer|form|"
    "h[1-6]|header|hr|iframe|li|nav|ol|p|pre|section|summary|table|tbody|td|tfoot|th|"
    "thead|tr|ul|script|style|object|embed|video|audio"
)
_BLOCK_OPEN = re.compile(r"<(?:" + _BLOCK + r")\b[^>]*>", re.IGNORECASE)
_BLOCK_CLOSE = re.compile(r"</(?:" + _BLOCK + r")\s*>", re.IGNORECASE)
_STARTS_WITH_BLOCK = re.compile(r"^\s*</?(?:" + _BLOCK + r")\b", re.IGNORECASE)
_BLANK_LINE = re.compile(r"\n\s*\n")
_VOID_BLOCK = re.compile(r"<hr\b[^>]*>", re.IGNORECASE)


@dataclass(frozen=True)
class PostHtml:
    """A post's text as HTML, and how many shortcodes were removed from it."""

    html: str
    shortcodes_removed: int


def post_html(text: str) -> PostHtml:
    """The HTML of a post's stored text (``content:encoded``): ``[caption]`` shortcodes as
    figures with their captions, every other shortcode removed (the text between an
    opening and a closing one kept) and counted, and paragraphs made where the text has
    none (WordPress's ``wpautop``)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _COMMENT.sub("", text)
    text = _ESCAPED.sub(lambda found: _OPEN_MARK + found.group(1)[1:-1] + _CLOSE_MARK, text)
    text = _CAPTION.sub(_figure, text)
    text, removed = _remove_shortcodes(text)
    text = text.replace(_OPEN_MARK, "[").replace(_CLOSE_MARK, "]")
    text = paragraphs(text)
    return PostHtml(text, removed)


def _figure(found: re.Match[str]) -> str:
    """``[caption]<img ...> Text[/caption]`` as ``<figure><img ...><figcaption>Text
    </figcaption></figure>``; the caption is the text after the image (or its link), or
    the shortcode's ``caption`` attribute (older WordPress)."""
    attributes, inner = found.group(2), found.group(3).strip()
    cut = inner.rfind(">") + 1
    media, caption = inner[:cut], inner[cut:].strip()
    if not caption:
        named = _CAPTION_ATTRIBUTE.search(attributes)
        caption = (
            html.escape(html.unescape(next(filter(None, named.groups()), ""))) if named else ""
        )
    figcaption = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f"\n\n<figure>{media}{figcaption}</figure>\n\n"


def _remove_shortcodes(text: str) -> tuple[str, int]:
    removed = 0
    for _ in range(_MAX_NESTING):
        text, count = _ENCLOSING.subn(lambda found: found.group(3), text)
        removed += count
        if not count:
            break
    text, count = _SELF_CLOSING.subn("", text)
    removed += count

    def lone(found: re.Match[str]) -> str:
        nonlocal removed
        name, attributes = found.group(1), found.group(2)
        if name.lower() in KNOWN_SHORTCODES or "=" in attributes:
            removed += 1
            return ""
        return found.group(0)

    return _OPENING.sub(lone, text), removed


def paragraphs(text: str) -> str:
    """Paragraphs for text separated by blank lines, as WordPress's ``wpautop`` makes them:
    each run of text that is not inside or made of a block element (``<p>``, ``<figure>``,
    ``<ul>``, ``<blockquote>``...) becomes a ``<p>``, its single line breaks ``<br>``.
    Text already in block elements is left as it is."""
    out: list[str] = []
    depth = 0
    for chunk in _BLANK_LINE.split(text):
        stripped = chunk.strip()
        if not stripped:
            continue
        if depth > 0 or _STARTS_WITH_BLOCK.match(stripped):
            out.append(stripped)
        else:
            out.append("<p>" + stripped.replace("\n", "<br>\n") + "</p>")
        opened = len(_BLOCK_OPEN.findall(stripped)) - len(_VOID_BLOCK.findall(stripped))
        depth = max(0, depth + opened - len(_BLOCK_CLOSE.findall(stripped)))
    return "\n".join(out)
