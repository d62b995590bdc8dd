"""Pure, deterministic feed rendering: the same FeedDocument always gives the same bytes."""

from __future__ import annotations

from app.domain import FeedFormat
from app.rendering.fragments import FragmentCache
from app.rendering.fragments import FragmentStore
from app.rendering.fragments import SizedLru
from app.rendering.fragments import assemble
from app.rendering.model import FeedDocument
from app.rendering.model import FeedEntry

__all__ = ["FeedDocument", "FeedEntry", "FragmentCache", "SizedLru", "render_feed"]


def render_feed(
    document: FeedDocument, fmt: FeedFormat, fragments: FragmentStore | None = None
) -> bytes:
    """Render ``document`` in ``fmt`` as UTF-8 bytes.

    With ``fragments``, entries rendered for an earlier document in the same context are
    reused; the bytes are the same either way. The bytes parse (XML or JSON): a renderer
    that produced a piece that does not raises instead.
    """
    return assemble(document, fmt, fragments)
