"""What the private variants of a subscription feed are made of: one per profile that an
active subscriber reads, read in the public feed's read transaction from the same
selection (:mod:`app.snapshots` renders and stores them with the public documents).

A private entry carries the text of an article that keeps it out of the public feeds
(``full_text_in_feeds``: that flag limits only them), so private entries are rendered in
contexts of their own and never joined into a public feed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.domain import ArticleVersion
from app.domain import FeedFormat
from app.domain import FeedScope
from app.entries import RenderedEntries
from app.private_feeds import private_snapshot_key
from app.profiles import FeedProfile
from app.profiles import parse_profile
from app.rendering import FeedEntry
from app.storage.articles import ArticleRepository
from app.storage.feeds import SnapshotRepository
from app.storage.fragments import EntryBytes
from app.storage.fragments import EntryFragmentRepository
from app.storage.subscribers import SubscriberRepository


@dataclass(frozen=True)
class PrivateRead:
    """What one private variant adds to the public feed's read."""

    private: str
    """The profile's name."""
    profile: FeedProfile
    context: str
    stored: dict[ArticleVersion, EntryBytes]
    unrendered: list[tuple[ArticleVersion, FeedEntry]]
    previous: dict[str, tuple[str, datetime, datetime | None]]
    keys: dict[FeedFormat, str]


def read_private(
    session: Session,
    entries: RenderedEntries,
    scope: FeedScope,
    language: str,
    ordered: Sequence[ArticleVersion],
    now: datetime,
) -> tuple[list[PrivateRead], tuple[str, ...]]:
    """The private variants of ``scope`` at ``now`` (its versions ``ordered``, its
    ``language``), and the stored private documents of the profiles no active subscriber
    reads any more (to delete), read in the caller's transaction."""
    active, every = SubscriberRepository(session).profiles(now)
    if not every:
        return [], ()  # a site without subscribers: one small read, nothing more
    snapshots = SnapshotRepository(session)
    fragments = EntryFragmentRepository(session)
    articles = ArticleRepository(session)
    variants = []
    for name in sorted(active):
        profile = parse_profile(name)
        keys = {fmt: private_snapshot_key(name, scope, fmt) for fmt in FeedFormat}
        context = entries.context(language, profile, private=True)
        stored = entries.stored(fragments, context, ordered)
        unrendered = [version for version in ordered if version not in stored]
        found = entries.entries_of(articles, unrendered, private=True)
        variants.append(
            PrivateRead(
                private=name,
                profile=profile,
                context=context,
                stored=stored,
                unrendered=[(version, found[version]) for version in unrendered],
                previous=snapshots.validators(keys.values()),
                keys=keys,
            )
        )
    retired = [
        private_snapshot_key(name, scope, fmt) for name in every - active for fmt in FeedFormat
    ]
    return variants, tuple(snapshots.validators(retired)) if retired else ()
