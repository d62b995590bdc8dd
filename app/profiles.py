"""Feed profiles: how much of each article's text a feed carries.

A profile is named by a setting: ``full`` (the whole body), ``summary`` (no body, only the
summary) or ``paragraphs:N`` (the first N paragraphs of the body, then a link to the
page). The site has a default (``feed.profile``) and a scope may have its own
(``[feed.profiles]``, by scope key). What a profile does to an entry is
:mod:`app.teasers`'; this module only names and chooses profiles. Contains no I/O; sits
below the settings, which check their values with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator

FULL = "full"
SUMMARY = "summary"
PARAGRAPHS = "paragraphs"
#: The most paragraphs a ``paragraphs:N`` profile may name.
MAX_PARAGRAPHS = 100

_PARAGRAPHS_NAME = re.compile(r"paragraphs:([1-9][0-9]*)")
# A scope key as FeedScope writes it: site, or a kind of scope alone (every scope of that
# kind), or a kind and a slug (category/opiniao, collection/destaques; archive pages are
# numbered: archive/3).
_SCOPE_KEY = re.compile(
    r"site|(?:category|tag|author|collection|archive)(?:/[a-z0-9]+(?:-[a-z0-9]+)*)?"
)


@dataclass(frozen=True)
class FeedProfile:
    """How much of an article's text a feed carries: ``kind`` is :data:`FULL`,
    :data:`SUMMARY` or :data:`PARAGRAPHS` (then ``paragraphs`` counts them)."""

    kind: str
    paragraphs: int = 0

    @property
    def name(self) -> str:
        """The profile as the settings name it: ``full``, ``summary``, ``paragraphs:3``."""
        return f"{PARAGRAPHS}:{self.paragraphs}" if self.kind == PARAGRAPHS else self.kind

    @property
    def is_full(self) -> bool:
        """Whether entries carry the whole body (what every feed did before profiles)."""
        return self.kind == FULL


FULL_PROFILE = FeedProfile(FULL)
SUMMARY_PROFILE = FeedProfile(SUMMARY)


@lru_cache(maxsize=64)
def parse_profile(name: str) -> FeedProfile:
    """The profile ``name`` names.

    Raises:
        ValueError: ``name`` is not ``full``, ``summary`` or ``paragraphs:N`` with N from 1
            to :data:`MAX_PARAGRAPHS`.
    """
    if name in (FULL, SUMMARY):
        return FeedProfile(name)
    count = _PARAGRAPHS_NAME.fullmatch(name)
    if count is None or int(count.group(1)) > MAX_PARAGRAPHS:
        raise ValueError(
            f"must be full, summary or paragraphs:N with N from 1 to {MAX_PARAGRAPHS}, got {name!r}"
        )
    return FeedProfile(PARAGRAPHS, int(count.group(1)))


def scope_profile(scope_key: str, default: str, by_scope: Mapping[str, str]) -> FeedProfile:
    """The profile of the feeds of ``scope_key``: the one set for that scope, else the one
    set for its kind (``category`` for every section), else, for an archive page, the
    site's (its pages are the site feed's history), else ``default``. The names were
    checked with the settings."""
    kind = scope_key.partition("/")[0]
    for key in (scope_key, kind, "site" if kind == "archive" else None):
        if key is not None and key in by_scope:
            return parse_profile(by_scope[key])
    return parse_profile(default)


def _checked_name(name: str) -> str:
    parse_profile(name)
    return name


def _checked_scopes(by_scope: dict[str, str]) -> dict[str, str]:
    for key, name in by_scope.items():
        if _SCOPE_KEY.fullmatch(key) is None:
            raise ValueError(
                "must map scope keys (site, category, category/opiniao, tag/eleicoes, "
                "author/ana-souza, collection/destaques, archive...) to profiles, got the "
                f"key {key!r}"
            )
        try:
            parse_profile(name)
        except ValueError as error:
            raise ValueError(f"the profile of {key!r} {error}") from None
    return by_scope


#: A setting that names a profile.
ProfileName = Annotated[str, AfterValidator(_checked_name)]
#: A setting that maps scope keys to profile names.
ScopeProfiles = Annotated[dict[str, str], AfterValidator(_checked_scopes)]
