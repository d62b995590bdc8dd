"""Collections: curated and combined feeds, and the pure rules that say what they hold.

A collection is a feed scope (``collection/<slug>``) with a title and either rules over
terms (include and exclude lists of categories, tags and authors: an article is in it if
it matches any include, or there is none, and no exclude) or an editor's ordered list of
article ids. Collections are declared in the settings (``[collections.<slug>]``) or over
the API (stored). Contains no I/O; sits below the settings, which check the declared
collections with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated
from typing import Any

from pydantic import AfterValidator
from pydantic import ValidationInfo
from slugify import slugify

#: The scope kind of collections: ``collection/destaques``.
COLLECTION = "collection"
#: A collection's slug: the rule of term slugs (what :func:`term_slug` makes), stored in a
#: column of 100 characters.
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_SLUG_LENGTH = 100
MAX_TITLE_LENGTH = 300
#: The terms rules name, as :class:`Terms` fields and as the suffix of rule fields.
TERM_KINDS = ("categories", "tags", "authors")
RULE_FIELDS = tuple(f"{side}_{kind}" for side in ("include", "exclude") for kind in TERM_KINDS)


def term_slug(name: str) -> str:
    """The URL slug of a category, tag or author name (``/category/<slug>``)."""
    return slugify(name, max_length=120, backend="text-unidecode") or "x"


@dataclass(frozen=True)
class Terms:
    """Term slugs by kind: one side of a collection's rules, or what an article carries."""

    categories: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    authors: frozenset[str] = frozenset()

    @classmethod
    def of_names(
        cls, categories: Iterable[str], tags: Iterable[str], authors: Iterable[str]
    ) -> Terms:
        """The slugs of names (or slugs: a slug is its own slug), as articles carry them."""
        return cls(*(frozenset(map(term_slug, names)) for names in (categories, tags, authors)))

    def __bool__(self) -> bool:
        return bool(self.categories or self.tags or self.authors)

    def meets(self, other: Terms) -> bool:
        """Whether the two share a term of the same kind."""
        return bool(
            self.categories & other.categories
            or self.tags & other.tags
            or self.authors & other.authors
        )


@dataclass(frozen=True)
class Collection:
    """A curated or combined feed. ``articles`` (an editor's list, in the feed's order) is
    None for a collection of rules; ``declared``: set in the settings, not over the API."""

    slug: str
    title: str
    include: Terms = Terms()
    exclude: Terms = Terms()
    articles: tuple[str, ...] | None = None
    declared: bool = False

    @property
    def key(self) -> str:
        """Its feed scope key, ``collection/<slug>``."""
        return f"{COLLECTION}/{self.slug}"

    def holds(self, article_id: str, terms: Terms) -> bool:
        """Whether an article (its id, and its terms' slugs) is in the collection, public
        or not: listed, or matching any include (or there is none) and no exclude."""
        if self.articles is not None:
            return article_id in self.articles
        return (not self.include or self.include.meets(terms)) and not self.exclude.meets(terms)

    def may_hold(self, article_ids: Iterable[str], terms: Terms) -> bool:
        """Whether any of several articles may be in it, from their ids and their terms
        put together (excludes cannot tell: a term one article is excluded for does not
        exclude the others)."""
        if self.articles is not None:
            return not set(self.articles).isdisjoint(article_ids)
        return not self.include or self.include.meets(terms)

    def definition(self) -> dict[str, Any]:
        """What defines it, as the API shows it and the store keeps it (JSON): ``rules``
        (the names' slugs, in order) or ``articles``."""
        if self.articles is not None:
            return {"articles": list(self.articles)}
        rules = {
            f"{side}_{kind}": sorted(getattr(terms, kind))
            for side, terms in (("include", self.include), ("exclude", self.exclude))
            for kind in TERM_KINDS
        }
        return {"rules": rules}


def collection_problems(
    slug: str, title: Any, rules: Mapping[str, Any] | None, articles: Any, item_limit: int
) -> list[tuple[str, str]]:
    """What is wrong with a collection's definition, as (field, message) pairs: the slug
    (field ``slug``), an empty title, both rules and a list, an empty list, a list longer
    than ``item_limit`` or that names an article twice, and rule values that are not lists
    of names."""
    problems: list[tuple[str, str]] = []
    if len(slug) > MAX_SLUG_LENGTH or not SLUG_PATTERN.fullmatch(slug):
        problems.append(
            ("slug", "must be lowercase ASCII letters and digits in words joined by single "
             f"hyphens, at most {MAX_SLUG_LENGTH} characters, got {slug!r}")
        )  # fmt: skip
    if not isinstance(title, str) or not title.strip():
        problems.append(("title", "must be a text that is not empty"))
    elif len(title) > MAX_TITLE_LENGTH:
        problems.append(("title", f"must be at most {MAX_TITLE_LENGTH} characters"))
    if rules and articles is not None:
        problems.append(("articles", "cannot be given with rules: a collection is one or other"))
    for name, names in (rules or {}).items():
        if not _is_names(names):
            problems.append((name, "must be a list of names or slugs that are not empty"))
    if articles is not None:
        problems.extend(_list_problems(articles, item_limit))
    return problems


def _is_names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(name, str) and name.strip() for name in value)


def _list_problems(articles: Any, item_limit: int) -> list[tuple[str, str]]:
    if not isinstance(articles, list) or not articles or not _is_names(articles):
        return [("articles", "must be a list of article ids that is not empty")]
    if len(articles) > item_limit:
        return [("articles", f"must list at most {item_limit} articles (feed.item_limit)")]
    if len(set(articles)) != len(articles):
        return [("articles", "must name each article once")]
    return []


def build_collection(
    slug: str,
    title: str,
    rules: Mapping[str, list[str]] | None,
    articles: list[str] | None,
    declared: bool = False,
) -> Collection:
    """A collection from a definition :func:`collection_problems` found nothing wrong with."""
    if articles is not None:
        return Collection(slug, title.strip(), articles=tuple(articles), declared=declared)
    given = rules or {}
    include, exclude = (
        Terms.of_names(*(given.get(f"{side}_{kind}", ()) for kind in TERM_KINDS))
        for side in ("include", "exclude")
    )
    return Collection(slug, title.strip(), include, exclude, declared=declared)


# -- declared in the settings -------------------------------------------------------------

_DECLARED_FIELDS = ("title", *RULE_FIELDS, "articles")


def _checked_declared(
    declared: dict[str, dict[str, Any]], info: ValidationInfo
) -> dict[str, dict[str, Any]]:
    limit = info.data.get("feed_item_limit", 1000)
    for slug, values in declared.items():
        unknown = sorted(values.keys() - set(_DECLARED_FIELDS))
        problems = [(name, f"is not a known field (one of {', '.join(_DECLARED_FIELDS)})")
                    for name in unknown]  # fmt: skip
        rules = {name: values[name] for name in RULE_FIELDS if name in values}
        problems += collection_problems(
            slug, values.get("title"), rules, values.get("articles"), limit
        )
        for field, message in problems:
            if field == "slug":
                raise ValueError(f"Setting collections.{slug}: a collection's slug {message}.")
            raise ValueError(f"Setting collections.{slug}.{field} {message}.")
    return declared


def declared_collections(declared: Mapping[str, Mapping[str, Any]]) -> tuple[Collection, ...]:
    """The collections of the settings (checked with them), by slug."""
    return tuple(
        build_collection(
            slug,
            values["title"],
            {name: values[name] for name in RULE_FIELDS if name in values},
            values.get("articles"),
            declared=True,
        )
        for slug, values in sorted(declared.items())
    )


#: The ``collections`` setting: ``[collections.<slug>]`` tables of a title and rules or a
#: list (see :data:`_DECLARED_FIELDS`), each checked.
CollectionSettings = Annotated[dict[str, dict[str, Any]], AfterValidator(_checked_declared)]
