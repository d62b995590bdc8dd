"""The URLs of the site an import came from: how a stored old path is written, and the URL
shapes of the old site (setting ``legacy.url_patterns``) read as patterns. Pure: no I/O.

A pattern is a path with placeholders: ``/{yyyy}/{mm}/{dd}/{slug}/`` or
``/noticias/{slug}.html`` or ``/archives/{id}``. ``yyyy``, ``mm`` and ``dd`` match the
digits of the publication date, ``slug`` one path segment (the article's slug), ``id``
the old system's number of the post (a WordPress post id, kept as ``/?p=<id>``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import unquote

#: What each placeholder matches.
PLACEHOLDERS = {
    "yyyy": r"\d{4}",
    "mm": r"\d{2}",
    "dd": r"\d{2}",
    "slug": r"[^/]+",
    "id": r"\d{1,18}",
}
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def path_key(path: str, query: str = "") -> str:
    """The form an old path is stored and looked up in: percent-escapes decoded (a web
    framework hands the path over decoded; an export holds it encoded), and the query, if
    any, after ``?`` (WordPress's default permalinks are ``/?p=42``)."""
    key = unquote(path)
    return f"{key}?{unquote(query)}" if query else key


def wordpress_id_key(post_id: str) -> str:
    """The stored old path of a WordPress post by its number: its short link ``/?p=<id>``."""
    return path_key("/", f"p={post_id}")


@dataclass(frozen=True)
class LegacyMatch:
    """What a path matched by a pattern names: a slug or an old id, and the date parts the
    pattern has (a month without a day is a whole month)."""

    slug: str | None
    old_id: str | None
    year: int | None
    month: int | None
    day: int | None

    def dated(self, published: date) -> bool:
        """Whether a publication date agrees with the date parts of the path."""
        return (
            (self.year is None or self.year == published.year)
            and (self.month is None or self.month == published.month)
            and (self.day is None or self.day == published.day)
        )


@dataclass(frozen=True)
class LegacyPattern:
    """One URL shape of the old site, compiled."""

    text: str
    regex: re.Pattern[str]

    def match(self, path: str) -> LegacyMatch | None:
        """What ``path`` (decoded, without its query) names, if it has this shape."""
        found = self.regex.fullmatch(path)
        if found is None:
            return None
        parts = found.groupdict()

        def number(name: str) -> int | None:
            return int(parts[name]) if parts.get(name) else None

        return LegacyMatch(
            parts.get("slug"), parts.get("id"), number("yyyy"), number("mm"), number("dd")
        )


def compile_pattern(text: str) -> LegacyPattern:
    """A URL shape as a pattern. A shape that ends in ``/`` also matches without it (old
    links are often cut there).

    Raises:
        ValueError: with a message naming the setting and what is wrong.
    """
    said = f"Setting legacy_url_patterns: {text!r}"
    if not text.startswith("/"):
        raise ValueError(f"{said} must be a path starting with /.")
    names = _PLACEHOLDER.findall(text)
    unknown = [name for name in names if name not in PLACEHOLDERS]
    if unknown:
        known = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
        raise ValueError(f"{said} has {{{unknown[0]}}}; the placeholders are {known}.")
    if len(set(names)) != len(names):
        raise ValueError(f"{said} names a placeholder twice.")
    if "slug" not in names and "id" not in names:
        raise ValueError(f"{said} must have {{slug}} or {{id}}: what names the article.")
    literal = _PLACEHOLDER.split(text)[::2]
    if any(part.count("{") or part.count("}") for part in literal):
        raise ValueError(f"{said} has an unpaired brace.")
    regex = ""
    for index, part in enumerate(literal):
        regex += re.escape(part)
        if index < len(names):
            regex += f"(?P<{names[index]}>{PLACEHOLDERS[names[index]]})"
    if text.endswith("/") and len(text) > 1:
        regex += "?"  # the slash that ends the shape may be left out
    return LegacyPattern(text, re.compile(regex))


def compile_patterns(texts: list[str]) -> tuple[LegacyPattern, ...]:
    """Every shape of the setting, in order (the first that matches a path answers).

    Raises:
        ValueError: a shape is not one.
    """
    return tuple(compile_pattern(text) for text in texts)
