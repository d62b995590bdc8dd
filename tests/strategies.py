"""Hypothesis strategies for hostile article input (used by ``tests/test_properties.py``).

Every text strategy mixes *visible words* (letters of several scripts, which must survive
every stage) with the things that break feeds and pages: characters XML 1.0 forbids, lone
surrogates, bidi controls, ZWJ emoji, combining marks, CDATA terminators, entity tricks,
very long words, and HTML/Markdown payloads (script, handlers, ``javascript:`` in all its
disguises, SVG, style, meta refresh, unclosed and deeply nested markup).
"""

from __future__ import annotations

import functools
import itertools
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any

from hypothesis import strategies as st

# -- characters -----------------------------------------------------------------------------

#: Every character XML 1.0 forbids (section 2.2) in the BMP, except the surrogates.
XML_FORBIDDEN = (
    *(chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20))),
    "\ufffe",
    "\uffff",
)
LONE_SURROGATES = ("\ud800", "\udbff", "\udc00", "\udfff", "\ud83d")  # \ud83d: half an emoji
BIDI = (
    "\u200e", "\u200f", "\u061c", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
    "\u2066", "\u2067", "\u2068", "\u2069",
)  # fmt: skip
INVISIBLE = (
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u2028", "\u2029", "\u0085",
    "\xa0", "\u3000", "\x7f", "\x80", "\x93", "\x9b", "\x9f", "\r", "\r\n", "\t", "\n", " ",
)  # fmt: skip
EMOJI = (
    "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",  # family (ZWJ)
    "\U0001f3f3\ufe0f\u200d\U0001f308",  # rainbow flag (ZWJ + VS16)
    "\U0001f44d\U0001f3fd",  # skin tone modifier
    "\U0001f1e7\U0001f1f7",  # regional indicators (flag of Brazil)
    "\U0001f9d1\U0001f3ff\u200d\U0001f680",
    "\u2764\ufe0f",
    "\U0001d54f",  # mathematical double-struck X (astral)
    "\U0010fffd",  # last private-use code point
    "\U0001f600",
)
COMBINING = (
    "e\u0301",
    "\u0301",  # a combining mark with nothing to combine with
    "Z\u0335\u0321\u031b\u0316\u0348\u0344a\u0338l\u0337g\u0336o\u0335",  # "zalgo"
    "\u0e01\u0e49\u0e49\u0e49\u0e49",
    "\u0645\u064e\u0631\u0652\u062d\u064e\u0628\u064b\u0627",
    "\u05e9\u05c1\u05b8\u05dc\u05d5\u05b9\u05dd",
    "\u1100\u1161\u11a8",  # conjoining jamo
)
MARKUP_BITS = (
    "]]>", "<![CDATA[", "]]&gt;", "<!--", "-->", "&", "&amp;", "&#0;", "&#x0;", "&#xD800;",
    "&#xFFFE;", "&#65535;", "&#1;", "&nbsp", "&lt;script&gt;", "<", ">", '"', "'", "\\", "`",
    "<?xml version='1.0'?>", "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>", "&e;",
    "{{ 7*7 }}", "{% raw %}", "%s%n", "\\u0000", "*", "_", "[", "](", "|", "#", ":", "--",
)  # fmt: skip

#: Letters of several scripts, no markup or whitespace: words made of them must survive.
WORD_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "áéíóúâêôãõçàüÁÉÇÃßøØñ"
    "жизньЖ"
    "中文字漢"
    "مرحبا"
    "שלום"
    "ひらがなカタ"
)

# -- URLs -----------------------------------------------------------------------------------

#: ``javascript:`` and friends, plainly and in every disguise browsers still execute.
HOSTILE_URLS = (
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "\x01javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "jav&#x09;ascript:alert(1)",
    "jav&#x0A;ascript:alert(1)",
    "jav&#9;ascript:alert(1)",
    "&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)",
    "&#x6A;avascript:alert(1)",
    "javascript&colon;alert(1)",
    "java\x00script:alert(1)",
    "vbscript:msgbox(1)",
    "livescript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "data:text/html,<script>alert(1)</script>",
    "DATA:image/svg+xml,<svg onload=alert(1)>",
    "data:image/png;base64,iVBORw0KGgo=",
    "file:///etc/passwd",
    "//evil.example/x.js",
    "%6A%61%76%61%73%63%72%69%70%74:alert(1)",
)

# -- HTML and Markdown payloads ---------------------------------------------------------------

_URL_TEMPLATES_HTML = (
    '<a href="{u}">link</a>',
    "<a href={u}>link</a>",
    "<a href='{u}' target=_blank>link</a>",
    '<img src="{u}" alt="i">',
    '<img srcset="{u} 1x, {u} 2x">',
    '<iframe src="{u}"></iframe>',
    '<form action="{u}"><button formaction="{u}">go</button></form>',
    '<svg><a xlink:href="{u}"><text>x</text></a></svg>',
    '<object data="{u}"></object>',
    '<embed src="{u}">',
    '<base href="{u}">',
    '<link rel="stylesheet" href="{u}">',
    '<meta http-equiv="refresh" content="0;url={u}">',
    '<video poster="{u}"></video>',
    '<blockquote cite="{u}">q</blockquote>',
    '<area href="{u}">',
    '<math href="{u}">m</math>',
    '<div style="background:url({u})">s</div>',
)
_HTML_ATTACKS = (
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<script/xss src=x></script>",
    "<script>",
    "<svg><script>alert(1)</script></svg>",
    "<svg onload=alert(1)>",
    '<svg><script xlink:href="data:,alert(1)" /></svg>',
    "<svg><foreignObject><script>alert(1)</script></foreignObject></svg>",
    "<img src=x onerror=alert(1)>",
    "<img src=x onerror&#61;alert(1)>",
    "<IMG SRC=x OnErRoR=alert(1)>",
    "<body onload=alert(1)>",
    '<a onmouseover="alert(1)">hover</a>',
    "<p/onclick=alert(1)>p</p>",
    "<details open ontoggle=alert(1)>d</details>",
    "<x onfocus=alert(1) autofocus tabindex=0>x</x>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<style>@import 'javascript:alert(1)';</style>",
    "<style>body{background:red}</style>",
    "<template><script>alert(1)</script></template>",
    "<textarea><script>alert(1)</script></textarea>",
    "<xmp><script>alert(1)</script></xmp>",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "<iframe src=https://evil.example></iframe>",
    '<meta http-equiv="refresh" content="0">',
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<?php echo 1; ?>",
    '<a href="',
    "<b><i><u>unclosed",
    "</p></div></body></html>",
    "<table><tr><td>cell",
    "<ul><li>one<li>two",
    "<p>" * 50,
    "<b>" * 300,
    "<blockquote>" * 100,
    '<a href="/a"><a href="/b">nested</a></a>',
    "<h1>big</h1><hr><pre>  pre  </pre>",
    '<img src="/x.png" width="-1" height="99999999999">',
    '<span class="credit">c</span><figure class="x"><img src="/y.png"><figcaption>cap',
    '<a href="https://ok.example/" rel="nofollow" title="javascript:alert(1)">ok</a>',
    '<a href="mailto:x@example.org">mail</a>',
    "<input autofocus onfocus=alert(1)>",
    "<marquee onstart=alert(1)>m</marquee>",
    "<plaintext>",
)
_MARKDOWN_URL_TEMPLATES = (
    "[link]({u})",
    "![img]({u})",
    '![img]({u} "Caption | Credit")',
    "<{u}>",
    "[ref][r]\n\n[r]: {u}",
    "[link](<{u}>)",
    '[link](/ok "{u}")',
)
_MARKDOWN_ATTACKS = (
    "```\n<script>alert(1)</script>",
    "    indented <script>",
    "> quote <img src=x onerror=alert(1)>",
    "* item\n* [x](javascript:alert(1))",
    "| a | b |\n|---|---|\n| <script> | ]]> |",
    '![alt](/img.png "<script>alert(1)</script> | <b onclick=x>credit</b>")',
    '![alt](/img.png " | ")',
    "# heading <iframe>",
    "**bold *nested _deep `code",
    "[unclosed](",
    "\\<script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;",
    "line  \nbreak",
    "---",
    "===",
)


def _with_urls(templates: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(template.replace("{u}", url) for template in templates for url in HOSTILE_URLS)


# -- text -----------------------------------------------------------------------------------
#
# Generation cost matters (thousands of examples in CI): each strategy below is a list of
# draws from one flat pool, weighted by repetition, rather than nested ``one_of`` trees, and
# every strategy is built once (hypothesis validates each new strategy object on first use).

#: A fixed vocabulary of visible words (drawn once, deterministically) in several scripts.
_GENERATED_WORDS = tuple(
    "".join(WORD_ALPHABET[(seed * 7 + i * 13 + seed * i) % len(WORD_ALPHABET)] for i in range(n))
    for seed, n in zip(range(120), itertools.cycle((1, 3, 5, 8, 12)), strict=False)
)
WORDS = (
    *_GENERATED_WORDS,
    *("Ação", "São", "Paulo", "Straße", "Ölçü", "日本語", "العربية", "עברית", "Ελλάδα", "Київ"),
)
HTML_ATTACKS = _HTML_ATTACKS + _with_urls(_URL_TEMPLATES_HTML)
MARKDOWN_ATTACKS = _MARKDOWN_ATTACKS + _with_urls(_MARKDOWN_URL_TEMPLATES)
_CHARS = XML_FORBIDDEN + BIDI + INVISIBLE + EMOJI + COMBINING

words = st.sampled_from(WORDS)
phrases = st.lists(words, min_size=1, max_size=6).map(" ".join)
long_words = st.builds(
    lambda piece, count: piece * count,
    st.sampled_from(["a", "\u00e9", "\U0001f469\u200d\U0001f467", "e\u0301", "&", "<", "W"]),
    st.integers(100, 3000),
)


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of ``choices``, each drawn in proportion to its weight (``one_of`` has no weights)."""
    indices = [index for index, (weight, _) in enumerate(choices) for _ in range(weight)]
    return st.sampled_from(indices).flatmap(lambda index: choices[index][1])


@functools.cache
def _pool(surrogates: bool, markup: bool) -> tuple[str, ...]:
    pool = WORDS * 2 + _CHARS * 2
    if surrogates:
        pool += LONE_SURROGATES * 8
    if markup:
        pool += MARKUP_BITS + HTML_ATTACKS[:: max(1, len(HTML_ATTACKS) // 60)]
    return pool


@functools.cache
def hostile_text(
    max_atoms: int = 8, surrogates: bool = True, markup: bool = True
) -> st.SearchStrategy[str]:
    """Short text: words, hostile characters, markup fragments; now and then any Unicode."""
    return st.one_of(
        st.lists(st.sampled_from(_pool(surrogates, markup)), max_size=max_atoms).map("".join),
        st.text(max_size=max_atoms),  # arbitrary code points (hypothesis leaves out surrogates)
    )


@functools.cache
def titles(surrogates: bool = True) -> st.SearchStrategy[str]:
    """Hostile text around visible words (most often); else anything: blank, or too long."""
    around = st.lists(st.sampled_from(_pool(surrogates, markup=True)), max_size=3).map("".join)
    framed = st.builds(lambda a, phrase, b: a + phrase + b, around, phrases, around)
    return weighted((8, framed), (1, hostile_text(10, surrogates)), (1, long_words))


@functools.cache
def terms(surrogates: bool = True) -> st.SearchStrategy[str]:
    """A category, tag or author name: most often valid after cleaning, sometimes not."""
    around = st.lists(st.sampled_from(_pool(surrogates, markup=True)), max_size=2).map("".join)
    framed = st.builds(lambda a, word, b: a + word + b, around, words, around)
    return weighted((12, framed), (1, hostile_text(3, surrogates)), (1, long_words))


@functools.cache
def _attack_lists(surrogates: bool) -> st.SearchStrategy[list[str]]:
    attacks = HTML_ATTACKS + MARKDOWN_ATTACKS + _pool(surrogates, markup=False)[::4]
    return st.lists(st.sampled_from(attacks), min_size=1, max_size=3)


@functools.cache
def _block_kinds(max_blocks: int) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from("pppaaaaaaL"), max_size=max_blocks)


@functools.cache
def bodies(
    body_format: str, surrogates: bool = True, max_blocks: int = 8
) -> st.SearchStrategy[tuple[str, list[str]]]:
    """A body and the visible phrases in it that must survive (see :func:`_body`)."""
    return _body(body_format, surrogates, max_blocks)


@st.composite
def _body(
    draw: st.DrawFn, body_format: str, surrogates: bool, max_blocks: int
) -> tuple[str, list[str]]:
    """A body and the visible phrases in it that must survive the pipeline.

    Blocks are separated by blank lines. In Markdown (raw HTML off) nothing can swallow a
    later paragraph, so phrases may appear anywhere. In HTML an unclosed ``<script>`` or
    ``<a href="`` legitimately swallows what follows, so only phrases before the first
    payload are promised to survive.
    """
    blocks: list[str] = []
    kept: list[str] = []
    swallowing = False
    for kind in draw(_block_kinds(max_blocks)):
        if kind == "p":
            phrase = draw(phrases)
            blocks.append(phrase)
            if body_format == "markdown" or not swallowing:
                kept.append(phrase)
            continue
        swallowing = True
        if kind == "L":
            blocks.append(draw(long_words))
        else:
            blocks.append("".join(draw(_attack_lists(surrogates))))
    return "\n\n".join(blocks), kept


# -- plain text that looks like markup ------------------------------------------------------

#: Pieces of text that a reader taking plain text for HTML would show differently: tags
#: (known and unknown), references of every form (named, numeric, hexadecimal, without their
#: semicolon, undefined), lone ``&``, ``<`` and ``>``, both quotes.
MARKUP_LOOKALIKES = (
    "<", ">", "&", "&amp;", "&lt;", "&gt;", "&#39;", "&#x26;", "&#60;", "&quot;", "&copy",
    "&amp", "&#39", "&nbsp;", "&x;", "&#xyz;", "&#_;", "&#99999999;", '"', "'", "<b>", "</b>",
    "<Nome>", "<script>", "</script>", "<!--", "-->", "<![CDATA[", "]]>", "<br/>", "<p>",
    "</i>", "<a href=\"x\">", "AT&T", " & ", "a<b", "1 < 2 > 0", "\n", "\t", "\r\n", "\r", " ",
)  # fmt: skip


@functools.cache
def plain_texts() -> st.SearchStrategy[str]:
    """Plain text as a writer may send it: words mixed with text that looks like markup."""
    pieces = st.sampled_from(WORDS + MARKUP_LOOKALIKES * 3)
    return st.lists(pieces, min_size=1, max_size=10).map("".join)


# -- URLs and e-mail addresses that the write paths accept ------------------------------------

safe_paths = st.lists(words, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts))
safe_urls = st.one_of(
    safe_paths,
    safe_paths.map(lambda path: "https://cdn.example.org" + path + ".jpg"),
    safe_paths.map(lambda path: "http://\u4f8b\u3048.jp" + path),
    st.sampled_from(
        [
            "https://cdn.example.org/a.png?x=1&y=<2>#]]>",
            "https://cdn.example.org/\u202egpj.exe",  # a right-to-left override in a path
            "/img/\u200b\U0001f600%00.png",
            "HTTPS://CDN.EXAMPLE.ORG/A.PNG",
        ]
    ),
)
safe_emails = st.builds(lambda local, domain: f"{local}@{domain}.org", words, words)

# -- dates ----------------------------------------------------------------------------------

#: Every UTC offset the datetime type allows, to the minute: -23:59 ... +23:59.
offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@functools.cache
def aware_datetimes(
    min_value: datetime = datetime(1, 1, 1), max_value: datetime = datetime(9999, 12, 31)
) -> st.SearchStrategy[datetime]:
    """Aware datetimes (naive wall time in ``[min, max]``) at any offset, or UTC itself."""
    return st.builds(
        lambda naive, zone: naive.replace(tzinfo=zone),
        st.datetimes(min_value=min_value, max_value=max_value),
        st.one_of(st.just(UTC), offsets),
    )


def _in_zone(moment: datetime, zone: timezone) -> datetime:
    try:
        return moment.astimezone(zone)
    except OverflowError:  # the instant has no wall time in that zone (year 1 or 9999)
        return moment


#: Any instant from year 1 to 9999, shown at any offset (or UTC when it cannot be).
instants = st.builds(
    _in_zone,
    st.datetimes(
        min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59),
        timezones=st.just(UTC),
    ),
    st.one_of(st.just(UTC), offsets),
)  # fmt: skip
