"""Pure, deterministic feed rendering: the same FeedDocument always gives the same bytes."""

from __future__ import annotations

from app.domain import FeedFormat
from app.rendering.atom import render_atom
from app.rendering.jsonfeed import render_json_feed
from app.rendering.model import FeedDocument
from app.rendering.model import FeedEntry
from app.rendering.rss import render_rss

__all__ = ["FeedDocument", "FeedEntry", "render_feed"]


def render_feed(document: FeedDocument, fmt: FeedFormat) -> bytes:
    """Render ``document`` in ``fmt`` as UTF-8 bytes."""
    if fmt is FeedFormat.RSS:
        return render_rss(document)
    if fmt is FeedFormat.ATOM:
        return render_atom(document)
    return render_json_feed(document)
