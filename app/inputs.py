"""What a publisher may send for an article: the one declaration of its fields, for every
way in and out.

:class:`ArticleCreate` declares the fields. Everything else that names them is made from
it: :data:`ARTICLE_FIELDS` (what the use cases let an edit change), :class:`ArticleChanges`
(the API's merge patch), the import's line format (:mod:`app.transfer`), and
:func:`editable_fields` (what the API answers and the export writes). The JSON API
(:mod:`app.web.api`) and the import parse their JSON with these models; the use cases
(:mod:`app.articles`), which the CLI and the demo call directly, check every
:class:`~app.articles.ArticleInput` against the same models. So a value one way in refuses,
no other way stores, and the refusal names the field the same way everywhere. Contains no
I/O.
"""

from __future__ import annotations

import mimetypes
from dataclasses import asdict
from datetime import UTC
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING
from typing import Annotated
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import ValidationError
from pydantic import ValidationInfo
from pydantic import create_model
from pydantic import field_validator

from app.domain import UNKNOWN_LENGTH
from app.domain import Article
from app.domain import Author
from app.domain import BodyFormat
from app.domain import Image
from app.errors import FieldError
from app.input_values import Email
from app.input_values import Format
from app.input_values import Instant
from app.input_values import Language
from app.input_values import SlugText
from app.input_values import Summary
from app.input_values import Term
from app.input_values import Title
from app.input_values import Url
from app.json_input import field_errors
from app.json_input import without_lone_surrogates

#: The detail of every refusal of an article's fields, whichever rule refused them.
INVALID_ARTICLE = "The article is invalid."

# -- the parts of an article ------------------------------------------------------------------


class Strict(BaseModel):
    """JSON as it is: no type coercion, no unknown fields."""

    model_config = ConfigDict(extra="forbid", strict=True)


class AuthorModel(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: Email | None = None
    url: Url | None = None


# The built-in table only: mimetypes.guess_type() would also read the host's
# /etc/mime.types, and the same URL must get the same type on every machine.
_MEDIA_TYPES = mimetypes.MimeTypes()
# Built into mimetypes from Python 3.13 on; common enough on the web to know already.
_MEDIA_TYPES.add_type("image/webp", ".webp")


def image_type_of(url: str) -> str | None:
    """The ``image/*`` media type the extension of the URL's path names, or ``None``.

    Only the standard library's built-in table is consulted (never the host's), so the
    answer is the same everywhere: ``/a/capa.JPG?w=1`` is ``image/jpeg``, ``/a/capa`` and
    ``/a/doc.pdf`` are ``None``.
    """
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    guessed, _ = _MEDIA_TYPES.guess_type(path, strict=True)
    return guessed if guessed is not None and guessed.startswith("image/") else None


class ImageModel(Strict):
    """A lead image, which every feed carries as an enclosure: so it always has a media
    type (sent, or inferred from the URL) and a length (sent, or :data:`UNKNOWN_LENGTH`)."""

    url: Url
    type: Annotated[str, Field(pattern=r"^image/[A-Za-z0-9.+-]+$")] | None = Field(
        default=None,
        validate_default=True,
        description="The media type. Absent or null: inferred from the extension of the URL's "
        "path (image/* only); refused when the extension names no image type.",
    )
    length: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = Field(  # a BIGINT column
        default=None,
        validate_default=True,
        description="The size in bytes. Absent or null: 0, which RSS writes for an unknown "
        "size (RSS Advisory Board profile) and Atom and JSON Feed leave out.",
    )
    width: Annotated[int, Field(gt=0, le=100_000)] | None = None
    height: Annotated[int, Field(gt=0, le=100_000)] | None = None
    caption: Annotated[str, Field(max_length=2000)] | None = None
    credit: Annotated[str, Field(max_length=500)] | None = None

    @field_validator("type")
    @classmethod
    def _type_from_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        """The type sent, else the one the URL's extension names.

        Raises:
            ValueError: neither; RSS requires an enclosure type (RSS 2.0, ``<enclosure>``).
        """
        if value is not None:
            return value
        url = info.data.get("url")
        if url is None:  # the URL itself is refused; that error says enough
            return None
        inferred = image_type_of(url)
        if inferred is None:
            raise ValueError(
                "is required when the URL's extension names no image type (e.g. image/jpeg)"
            )
        return inferred

    @field_validator("length")
    @classmethod
    def _length_or_unknown(cls, value: int | None) -> int:
        return UNKNOWN_LENGTH if value is None else value


Authors = Annotated[list[AuthorModel], Field(min_length=1, max_length=20)]
Categories = Annotated[list[Term], Field(max_length=20)]
Tags = Annotated[list[Term], Field(max_length=50)]


# -- the article ------------------------------------------------------------------------------


# The one declaration of an article's fields, as a publisher sends them. (No docstring: it
# would become the description of the model in the OpenAPI document.)
class ArticleCreate(Strict):
    title: Title
    slug: SlugText | None = None
    summary: Summary = ""
    body: str
    body_format: Format = "markdown"
    authors: Authors
    categories: Categories = []
    tags: Tags = []
    language: Language | None = None
    image: ImageModel | None = None
    full_text_in_feeds: bool = Field(
        default=True,
        description="False: every feed carries the article's summary only, never its text, "
        "whatever the feed's profile (e.g. wire copy that may not be republished in full).",
    )
    published_at: Instant | None = None


#: An article's fields, in the order of the declaration: the ones an edit may change.
ARTICLE_FIELDS = tuple(ArticleCreate.model_fields)

#: The fields a merge patch may clear with null (the summary to "", the others to nothing);
#: null for any other field is refused.
CLEARABLE_FIELDS = ("summary", "language", "image", "published_at")


def _every_field_optional(model: type[Strict], name: str) -> type[Strict]:
    """A model with the fields of ``model``, each with its own rules but optional: absent
    and null both read as ``None`` (a JSON merge patch, RFC 7396, tells them apart by
    ``model_fields_set``)."""
    optional: dict[str, Any] = {
        field: (info.rebuild_annotation() | None, Field(None, description=info.description))
        for field, info in model.model_fields.items()
    }
    return create_model(name, __base__=Strict, __module__=__name__, **optional)


# Every field of ArticleCreate, optional: the base of the API's merge patch.
if TYPE_CHECKING:
    # mypy cannot see the fields of a class made at run time; they are read by name only.
    ArticleChanges = Strict
else:
    ArticleChanges = _every_field_optional(ArticleCreate, "ArticleChanges")

# What editable_fields writes: every field but the slug and the publication time, whose
# text the caller writes for its own readers, beside the id and the other times.
_EDITABLE_WRITTEN = tuple(name for name in ARTICLE_FIELDS if name not in ("slug", "published_at"))


def editable_fields(article: Article) -> dict[str, Any]:
    """The fields an editor sends for ``article``, as ArticleCreate reads them (times,
    slug and id left to the caller, which formats them for its own readers): what the API
    answers and the export writes, so that either can be sent back in."""
    return {name: _json_value(getattr(article, name)) for name in _EDITABLE_WRITTEN}


def _json_value(value: Any) -> Any:
    """A domain value as JSON holds it: a tuple as a list, an :class:`~app.domain.Author`
    or :class:`~app.domain.Image` as an object of the fields its model declares, an enum
    as its value."""
    kind = type(value)
    if kind is str or value is None:
        return value
    if kind is tuple:
        return [_json_value(item) for item in value]
    names = _MODEL_FIELDS.get(kind)
    if names is not None:
        return {name: getattr(value, name) for name in names}
    return value.value if isinstance(value, Enum) else value


# The models of the domain values an article holds, whose fields they mirror.
_MODEL_FIELDS: dict[type, tuple[str, ...]] = {
    Author: tuple(AuthorModel.model_fields),
    Image: tuple(ImageModel.model_fields),
}


def instant_text(value: datetime | None) -> str | None:
    """How every answer of the API and every line of the export writes a time: RFC 3339 in
    UTC, always with microseconds (``2026-11-28T12:00:00.000000+00:00``), whatever offset it
    was sent with; so one version of an article reads the same wherever it is shown, and
    can be sent back in unchanged."""
    return value.astimezone(UTC).isoformat(timespec="microseconds") if value is not None else None


def article_errors(values: dict[str, Any]) -> list[FieldError]:
    """What is wrong with an article's fields, given as Python values (tuples, enums and
    nested dictionaries are fine); nothing when they pass :class:`ArticleCreate`.

    Lone surrogates are left out first, as :func:`~app.json_input.parse_json` leaves them out of
    JSON.
    """
    try:
        ArticleCreate.model_validate(without_lone_surrogates(values), strict=False)
    except ValidationError as error:
        return field_errors(error, "The article")
    return []


def complete_image(image: Image) -> Image:
    """``image`` as :class:`ImageModel` reads it: the media type inferred from the URL and
    the length :data:`UNKNOWN_LENGTH` when not given. For the use cases, whose callers pass
    :class:`~app.domain.Image` values; call it on an image :func:`article_errors` passed.

    Raises:
        pydantic.ValidationError: the image does not pass :class:`ImageModel`.
    """
    model = ImageModel.model_validate(without_lone_surrogates(asdict(image)), strict=False)
    return Image(**model.model_dump())


def domain_values(model: BaseModel) -> dict[str, Any]:
    """The article fields of a parsed model as ``ArticleInput`` holds them (tuples,
    :class:`~app.domain.Author`, :class:`~app.domain.Image`); other fields are left out."""
    values: dict[str, Any] = {}
    for name in type(model).model_fields:
        if name not in ARTICLE_FIELDS:
            continue
        value = getattr(model, name)
        if name == "authors" and value is not None:
            value = tuple(Author(a.name, a.email, a.url) for a in value)
        elif name in ("categories", "tags") and value is not None:
            value = tuple(value)
        elif name == "image" and value is not None:
            value = Image(**value.model_dump())
        elif name == "body_format" and value is not None:
            value = BodyFormat(value)
        elif name == "summary" and value is None:
            value = ""
        values[name] = value
    return values
