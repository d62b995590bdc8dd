"""Pure, deterministic feed rendering: the same FeedDocument always gives the same bytes."""

from __future__ import annotations

from app.domain import FeedFormat
from app.rendering.fragments import SizedLru
from app.rendering.fragments import join
from app.rendering.fragments import render_entries
from app.rendering.model import FeedDocument
from app.rendering.model import FeedEntry

__all__ = ["FeedDocument", "FeedEntry", "SizedLru", "join", "render_entries", "render_feed"]


def render_feed(document: FeedDocument, fmt: FeedFormat) -> bytes:
    """Render ``document`` in ``fmt`` as UTF-8 bytes.

    The bytes parse (XML or JSON): a renderer that produced a piece that does not raises
    instead.
    """
    return join(document, fmt, render_entries(document, fmt))
