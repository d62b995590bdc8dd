"""The entries of feed documents, kept between renders: each article version's feed entry,
and each entry's bytes in the three formats, in this process's memory over the stored
entries of the database (``entry_fragments``, :mod:`app.storage.fragments`).

An entry's bytes depend only on the entry, the format and the document's context (the
rendering code, the settings that show in feeds, the feed's language: see
:mod:`app.rendering.fragments`; and the feed's profile, :mod:`app.profiles`), so bytes
rendered for one feed are joined into every other feed of that context; a new context
(other code or settings) renders them again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from app.documents import feed_entry
from app.documents import render_fingerprint
from app.domain import ArticleVersion
from app.domain import FeedFormat
from app.domain import FeedScope
from app.profiles import FeedProfile
from app.profiles import scope_profile
from app.rendering import FeedDocument
from app.rendering import FeedEntry
from app.rendering import SizedLru
from app.rendering import render_entries
from app.settings import Settings
from app.storage.articles import ArticleRepository
from app.storage.fragments import EntryBytes
from app.storage.fragments import EntryFragmentRepository
from app.teasers import entry_in_profile

FRAGMENT_CONTEXT_DIGITS = 32
"""How much of the render fingerprint names the context of stored entries."""


def context_prefix(fingerprint: str) -> str:
    """What the context of every entry rendered with ``fingerprint`` starts with."""
    return fingerprint[:FRAGMENT_CONTEXT_DIGITS] + "/"


class RenderedEntries:
    """The feed entries and entry bytes a process keeps for its next renders.

    Contract: what it returns is what rendering would give now (an entry for an article
    version, bytes for a version in a context), whether kept in memory, read from the
    database or rendered; it reads only in the caller's transaction and writes nothing
    to the database (the caller stores the bytes it renders). Memory is bounded by
    ``feed_render_cache_bytes``. Safe to share between threads.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Each article's feed entry by version, and each entry's bytes in the three
        # formats by rendering context and version (the database keeps those too, for
        # every process). Three quarters of the budget go to the bytes.
        budget = settings.feed_render_cache_bytes
        self._fragments: SizedLru[tuple[str, ArticleVersion], EntryBytes] = SizedLru(
            budget - budget // 4, _fragment_weight
        )
        # An entry by version, and whether it is a private feed's (which keeps the text of
        # an article the public feeds carry as its summary).
        self._entries: SizedLru[tuple[ArticleVersion, bool], FeedEntry] = SizedLru(
            budget // 4, _entry_weight
        )
        self._fingerprint: str | None = None

    def profile(self, scope: FeedScope) -> FeedProfile:
        """How much of each article's text the feeds of ``scope`` carry."""
        settings = self.settings
        return scope_profile(scope.key, settings.feed_profile, settings.feed_profiles)

    def context(self, language: str, profile: FeedProfile, private: bool = False) -> str:
        """What an entry's stored bytes were rendered for: this rendering code and the
        settings that show in feeds (the site's address among them), the feed's language,
        and its profile unless it is the full one (named as before profiles were); a
        private feed's entries have contexts of their own (``.../pt-BR/private/full``),
        so no public feed ever joins an entry rendered for a private one."""
        if self._fingerprint is None:
            self._fingerprint = render_fingerprint(self.settings)
        if private:
            return f"{context_prefix(self._fingerprint)}{language}/private/{profile.name}"
        named = "" if profile.is_full else f"/{profile.name}"
        return f"{context_prefix(self._fingerprint)}{language}{named}"

    def stored(
        self, repo: EntryFragmentRepository, context: str, versions: Sequence[ArticleVersion]
    ) -> dict[ArticleVersion, EntryBytes]:
        """The entries of these versions already rendered in ``context``: kept in this
        process, else stored in the database (then kept)."""
        found: dict[ArticleVersion, EntryBytes] = {}
        for version in versions:
            kept = self._fragments.get((context, version))
            if kept is not None:
                found[version] = kept
        missing = [version for version in versions if version not in found]
        if missing:
            for version, entry_bytes in repo.current(context, missing).items():
                found[version] = entry_bytes
                self._fragments.put((context, version), entry_bytes)
        return found

    def render(
        self,
        context: str,
        profile: FeedProfile,
        document: FeedDocument,
        entries: Sequence[tuple[ArticleVersion, FeedEntry]],
    ) -> dict[ArticleVersion, EntryBytes]:
        """These entries rendered in the three formats as they read in ``document`` (of
        ``context``, whose profile is ``profile``), and kept for the next renders."""
        if not entries:
            return {}
        carried = (entry_in_profile(entry, profile, document.language) for _, entry in entries)
        with_entries = replace(document, entries=tuple(carried))
        rss, atom, json_feed = (render_entries(with_entries, fmt) for fmt in FeedFormat)
        fresh = {
            version: EntryBytes(rss=r, atom=a, json=j)
            for (version, _), r, a, j in zip(entries, rss, atom, json_feed, strict=True)
        }
        for version, entry_bytes in fresh.items():
            self._fragments.put((context, version), entry_bytes)
        return fresh

    def entries_of(
        self, repo: ArticleRepository, versions: Sequence[ArticleVersion], private: bool = False
    ) -> dict[ArticleVersion, FeedEntry]:
        """The feed entries of these article versions (in a ``private`` feed: with the
        text the public feeds may keep out): only articles whose version has no entry in
        this process are read whole. Read in one transaction with the versions, so every
        version listed is found."""
        known = {version: self._entries.get((version, private)) for version in versions}
        missing = {version.id: version for version, entry in known.items() if entry is None}
        for article in repo.by_ids(missing).values():
            version = missing[article.id]
            known[version] = entry = feed_entry(article, self.settings.base_url, private)
            self._entries.put((version, private), entry)
        return {version: entry for version, entry in known.items() if entry is not None}


def _fragment_weight(key: tuple[str, ArticleVersion], entry: EntryBytes) -> int:
    return len(entry.rss) + len(entry.atom) + len(entry.json) + 256


def _entry_weight(key: tuple[ArticleVersion, bool], entry: FeedEntry) -> int:
    # Its text, and a rough allowance for the rest of the objects.
    return len(entry.content_html or "") + len(entry.summary) + len(entry.title) + 1024
