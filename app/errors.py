"""The domain error tree.

Every error a use case can raise on purpose derives from :class:`BroadsheetError`. The web
layer maps these to HTTP in one place (``app/web/errors.py``); the CLI prints them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class BroadsheetError(Exception):
    """Root of every error Broadsheet raises on purpose.

    ``errors`` names each input field the error is about, when it is about fields (an API
    client must learn which field to change; issue 2, point 3); empty otherwise.
    """

    errors: Sequence[FieldError] = ()


class SettingsError(BroadsheetError):
    """A setting is missing or invalid; the message names it."""


@dataclass(frozen=True)
class FieldError:
    """One invalid field of an input: a dotted path and what is wrong with it.

    The path of the document itself is ``""`` (no step at all, as the JSON Pointer ``""``
    is the whole document, RFC 6901 section 5); its message is then a whole sentence that
    names the document, since no field name stands before it.
    """

    field: str
    message: str


class InvalidInput(BroadsheetError):
    """The input was refused; ``errors`` names every offending field."""

    def __init__(self, errors: list[FieldError], detail: str = "The input is invalid.") -> None:
        super().__init__(detail)
        self.errors = errors
        self.detail = detail


class MalformedJson(InvalidInput):
    """The document is not JSON at all, so no field of it can be named: ``errors`` holds
    one entry for the document itself (field ``""``) and ``detail`` says where parsing
    stopped."""


class ArticleNotFound(BroadsheetError):
    """No visible article has that id or slug."""

    def __init__(self, key: str) -> None:
        super().__init__(f"No article {key!r}.")
        self.key = key


class ArticleGone(BroadsheetError):
    """The article existed and was deleted."""

    def __init__(self, key: str) -> None:
        super().__init__(f"Article {key!r} was deleted.")
        self.key = key


class ArticleMoved(BroadsheetError):
    """The slug is a former slug of an article that now lives at another one."""

    def __init__(self, slug: str, current_slug: str) -> None:
        super().__init__(f"Article {slug!r} moved to {current_slug!r}.")
        self.slug = slug
        self.current_slug = current_slug


class SlugTaken(BroadsheetError):
    """Another article already uses that slug."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"The slug {slug!r} is already used by another article.")
        self.slug = slug
        self.errors = [FieldError("slug", f"{slug!r} is already used by another article")]


class EditConflict(BroadsheetError):
    """The client's If-Match does not name the article's current version."""

    def __init__(self, current_etag: str) -> None:
        super().__init__("The article changed since you read it; fetch it again and retry.")
        self.current_etag = current_etag


class PreconditionRequired(BroadsheetError):
    """An update came without If-Match (RFC 6585 section 3)."""


class PayloadTooLarge(BroadsheetError):
    """A body or field is over the configured size; ``errors`` names the field, if one."""

    def __init__(self, detail: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail)
        self.errors = errors


class UnsupportedMediaType(BroadsheetError):
    """The request body is not JSON."""


class AuthenticationFailed(BroadsheetError):
    """The bearer token is missing, malformed, unknown, expired or revoked (not saying which)."""


class TokenNameTaken(BroadsheetError):
    """An active token already has that name."""


class TokenNotFound(BroadsheetError):
    """No token has that name."""


class SubscriberNameTaken(BroadsheetError):
    """A private feed subscriber (active, expired or revoked) already has that name."""


class SubscriberNotFound(BroadsheetError):
    """No private feed subscriber has that name."""


class FeedKeyRefused(BroadsheetError):
    """A private feed key that was valid is no longer: revoked or expired (not saying which)."""


class WebhookNameTaken(BroadsheetError):
    """A webhook already has that name."""


class WebhookNotFound(BroadsheetError):
    """No webhook has that name."""


class CollectionNotFound(BroadsheetError):
    """No collection has that slug."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"No collection {slug!r}.")
        self.slug = slug


class CollectionDeclared(BroadsheetError):
    """The collection is declared in the settings: the API can neither change nor delete it."""

    def __init__(self, slug: str) -> None:
        super().__init__(
            f"The collection {slug!r} is declared in the settings ([collections.{slug}]); "
            "change it there."
        )
        self.slug = slug


class FeedNotFound(BroadsheetError):
    """No feed (or listing) is served at that path, or it has not been rendered yet."""

    def __init__(self, path: str) -> None:
        super().__init__(f"Nothing is published at {path}.")
        self.path = path


class SourceUnreadable(BroadsheetError):
    """An import's source could not be fetched or read (a feed page that answered an error,
    or that is not a feed); the message names the URL or file and what went wrong."""


class StorageUnavailable(BroadsheetError):
    """The database cannot be reached; the write was not stored."""
