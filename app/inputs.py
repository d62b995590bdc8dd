"""What a publisher may send: the rules of every article field, for every way in.

The JSON API (:mod:`app.web.api`) and the import (:mod:`app.transfer`) parse their JSON
with the models here; the use cases (:mod:`app.publishing`), which the CLI and the demo call
directly, check every :class:`~app.publishing.ArticleInput` against the same models. So a
value one way in refuses, no other way stores, and the refusal names the field the same
way everywhere. Contains no I/O.
"""

from __future__ import annotations

import json
import mimetypes
import re
from contextlib import suppress
from dataclasses import asdict
from datetime import UTC
from datetime import datetime
from typing import Annotated
from typing import Any
from typing import Literal
from typing import TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import PlainValidator
from pydantic import ValidationError
from pydantic import ValidationInfo
from pydantic import WithJsonSchema
from pydantic import field_validator

from app.domain import UNKNOWN_LENGTH
from app.domain import Article
from app.domain import Author
from app.domain import BodyFormat
from app.domain import Image
from app.errors import FieldError
from app.errors import InvalidInput
from app.errors import MalformedJson
from app.settings import LANGUAGE_TAG_MAX_LENGTH

_Model = TypeVar("_Model", bound=BaseModel)

#: The detail of every refusal of an article's fields, whichever rule refused them.
INVALID_ARTICLE = "The article is invalid."

# -- single values ---------------------------------------------------------------------------

# Every Unicode space (what str.isspace() finds, and the BOM, which JSON Schema counts).
# Neither a URL nor an e-mail address holds one (RFC 3986 section 2, RFC 5322; JSON Feed
# and Atom readers refuse "a b.jpg"). Written as regular expression classes that read the
# same in Python and in JSON Schema (ECMA-262), for the OpenAPI document.
_SPACES = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
# ...and in a URL no control character (C0, DEL, C1) or non-character XML 1.0 forbids either:
# URLs are stored as sent, and one would break every feed it reaches.
_FORBIDDEN = rf"\x00-\x20\x7f-\xa0{_SPACES}\ufffe\uffff"
_HAS_FORBIDDEN = re.compile(f"[{_FORBIDDEN}]")
_HAS_SPACE = re.compile(f"[{_SPACES}]")

#: What :func:`check_url` accepts, as a JSON Schema pattern (it accepts no more).
URL_PATTERN = (
    rf"^(?:/(?:[^/{_FORBIDDEN}][^{_FORBIDDEN}]*)?"
    rf"|[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(?::[0-9]{{1,5}})?(?:[/?#][^{_FORBIDDEN}]*)?)$"
)
#: What :func:`check_email` accepts, as a JSON Schema pattern.
EMAIL_PATTERN = rf"^[^@{_SPACES}]+@[^{_SPACES}]*\.[^{_SPACES}]*$"

#: The one refusal of a time, whatever was wrong with it: it shows the form and the range.
DATE_EXPECTED = (
    "expected an RFC 3339 date-time with an offset, such as 2026-11-28T09:00:00-03:00, "
    "between 1970-01-01 and 9999-12-30 in UTC"
)
# RFC 3339 section 5.6 (date-time), ASCII digits only: four-digit years, seconds required,
# "T" and "Z" in either case (section 5.6, note), an offset always ("Z" or +hh:mm; "-00:00"
# is UTC of unknown local offset, section 4.3). Python's parsers accept far more: epoch
# seconds, dates alone, "2026-11-28 09:00", basic format, "+0300".
_RFC3339 = re.compile(
    r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)", re.ASCII
)
# The range of an article's times. From the Unix epoch: an earlier date in a newsroom's
# feed is nearly always a value gone wrong (a zero or negative Unix time, year 1 from an
# empty field), and many readers keep times as unsigned Unix seconds. Up to the last day
# every time zone can still show within the datetime type (offsets stay under a day), so
# RSS, Atom, JSON Feed, the archives (UTC months) and the article page (in the site's time
# zone) can all show it.
EARLIEST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)


def check_url(value: str) -> str:
    """An absolute http(s) URL, or a path on this site starting with ``/``.

    Raises:
        ValueError: anything else, or a URL with spaces or control characters.
    """
    if _HAS_FORBIDDEN.search(value):
        raise ValueError("must not contain spaces or control characters")
    if value.startswith("/") and not value.startswith("//"):
        return value
    try:
        parts = urlsplit(value)
        absolute = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 address)
        absolute = False
    if not absolute:
        raise ValueError("must be an absolute http(s) URL or a path starting with /")
    return value


def check_email(value: str) -> str:
    """An e-mail address in the shape feeds require (Atom: ``.+@.+``).

    Raises:
        ValueError: no ``@``, nothing before it, no dot after it, or a space anywhere.
    """
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or _HAS_SPACE.search(value):
        raise ValueError("must be an e-mail address")
    return value


def parse_instant(value: object) -> datetime:
    """A time as a publisher may send it: an RFC 3339 date-time with an offset, between
    :data:`EARLIEST_INSTANT` and :data:`LATEST_INSTANT`; or, from code calling the use
    cases, an aware datetime in that range. Fractions beyond microseconds are cut.

    Raises:
        ValueError: anything else (epoch seconds, numbers, a date alone, no offset, a leap
            second, year 99999 ...), always with the message :data:`DATE_EXPECTED`.
    """
    if isinstance(value, str) and _RFC3339.fullmatch(value):
        # What the pattern lets through and Python refuses: no such day or hour, a leap
        # second, an offset of a day or more.
        with suppress(ValueError):
            value = datetime.fromisoformat(value.upper())
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(DATE_EXPECTED)
    try:
        inside = EARLIEST_INSTANT <= value.astimezone(UTC) <= LATEST_INSTANT
    except OverflowError:  # "0001-01-01T00:00+01:00" is before year 1 in UTC
        inside = False
    if not inside:
        raise ValueError(DATE_EXPECTED)
    return value


Url = Annotated[
    str,
    Field(max_length=2000, json_schema_extra={"pattern": URL_PATTERN}),
    AfterValidator(check_url),
]
Email = Annotated[
    str,
    Field(max_length=320, json_schema_extra={"pattern": EMAIL_PATTERN}),
    AfterValidator(check_email),
]
Instant = Annotated[
    datetime,
    PlainValidator(parse_instant, json_schema_input_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "An RFC 3339 date-time with an offset, such as "
            "2026-11-28T09:00:00-03:00, between 1970-01-01 and 9999-12-30 in UTC.",
        }
    ),
]
Term = Annotated[str, Field(min_length=1, max_length=100)]
Title = Annotated[str, Field(min_length=1, max_length=500)]
SlugText = Annotated[str, Field(min_length=1, max_length=120)]
Summary = Annotated[str, Field(max_length=5000)]
Format = Literal["markdown", "html"]
Language = Annotated[str, Field(min_length=2, max_length=LANGUAGE_TAG_MAX_LENGTH)]

# -- articles ---------------------------------------------------------------------------------


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
    published_at: Instant | None = None


ARTICLE_FIELDS = tuple(ArticleCreate.model_fields)


def editable_fields(article: Article) -> dict[str, Any]:
    """The fields an editor sends for ``article``, as ArticleCreate reads them (times,
    slug and id left to the caller, which formats them for its own readers): what the API
    answers and the export writes, so that either can be sent back in."""
    image = article.image
    return {
        "title": article.title,
        "summary": article.summary,
        "body": article.body,
        "body_format": article.body_format.value,
        "authors": [{"name": a.name, "email": a.email, "url": a.url} for a in article.authors],
        "categories": list(article.categories),
        "tags": list(article.tags),
        "language": article.language,
        "image": None
        if image is None
        else {
            "url": image.url,
            "type": image.type,
            "length": image.length,
            "width": image.width,
            "height": image.height,
            "caption": image.caption,
            "credit": image.credit,
        },
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

    Lone surrogates are left out first, as :func:`parse_json` leaves them out of JSON.
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


# -- JSON documents ---------------------------------------------------------------------------

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_json(model: type[_Model], raw: bytes | str, whole: str, detail: str) -> _Model:
    """``raw`` parsed and validated as ``model``.

    JSON may escape a lone surrogate ("\\ud800"), which no UTF-8 text can hold; like every
    character XML 1.0 forbids, it is removed, so it costs its field nothing rather than
    failing the whole document. ``whole`` names the document in sentences ("The request
    body", "The line"); an error about the document itself has the field ``""``, never
    the name of a field it might hold.

    Bytes must be UTF-8 (see :func:`utf8_text`); a byte order mark is the caller's to
    remove, where one may stand (the start of a body or of a file).

    Raises:
        MalformedJson: not UTF-8, or not JSON; its detail says so and where parsing stopped.
        InvalidInput: fields missing, unknown, of the wrong type or invalid, or a document
            that is not an object; ``detail`` is its message.
    """
    if isinstance(raw, bytes):
        raw = utf8_text(raw, whole)
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        malformed = _malformed(error, whole)
        cleaned = _without_lone_surrogates(raw) if malformed else None
        if malformed and cleaned is None:
            raise malformed from None
        if cleaned is None:
            raise InvalidInput(field_errors(error, whole), detail) from None
    try:
        return model.model_validate_json(cleaned)
    except ValidationError as error:
        raise InvalidInput(field_errors(error, whole), detail) from None


#: The UTF-8 byte order mark, which RFC 8259 section 8.1 lets a parser ignore.
UTF8_BOM = b"\xef\xbb\xbf"
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")


def utf8_text(raw: bytes, whole: str) -> str:
    """``raw`` decoded as UTF-8, the only encoding of JSON between systems (RFC 8259
    section 8.1). ``whole`` names the document, as in :func:`parse_json`.

    Raises:
        MalformedJson: not UTF-8; its detail says so, and names UTF-16 or UTF-32 when the
            bytes look like them.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        found = f"byte 0x{raw[error.start]:02X} at offset {error.start}"
    # A JSON text starts with an ASCII character (RFC 8259 section 2), which UTF-16 and
    # UTF-32 spell with a zero byte beside it; in UTF-8 a zero byte is a control character,
    # which JSON never holds unescaped (section 7).
    if raw.startswith(_WIDE_BOMS) or b"\x00" in raw[:4]:
        found = "it looks like UTF-16 or UTF-32"
    sentence = f"{whole} is not UTF-8 ({found}): JSON must be UTF-8 (RFC 8259 section 8.1)."
    raise MalformedJson([FieldError("", sentence)], sentence)


def _malformed(error: ValidationError, whole: str) -> MalformedJson | None:
    """The refusal of a document that is not JSON, or ``None`` when it is JSON."""
    for found in error.errors(include_url=False):
        if found["type"] == "json_invalid":
            # pydantic's parser says where it stopped: "EOF while parsing an object at
            # line 1 column 15".
            where = str(found.get("ctx", {}).get("error") or "unreadable")
            sentence = f"{whole} is not valid JSON: {where}."
            return MalformedJson([FieldError("", sentence)], sentence)
    return None


def _without_lone_surrogates(raw: bytes | str) -> str | None:
    """The document again without lone surrogates, or ``None`` when that is not its fault."""
    try:
        document = json.loads(raw)
        cleaned = without_lone_surrogates(document)
    except (ValueError, RecursionError):
        return None
    return json.dumps(cleaned) if cleaned != document else None


def without_lone_surrogates(value: Any) -> Any:
    """``value`` with every lone surrogate removed from its strings, however deep (tuples
    become lists)."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("", value)
    if isinstance(value, list | tuple):
        return [without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {
            without_lone_surrogates(key): without_lone_surrogates(item)
            for key, item in value.items()
        }
    return value


def field_errors(error: ValidationError, whole: str) -> list[FieldError]:
    """Each problem pydantic found, named by its dotted path (``authors.0.email``) and told
    in plain words; a problem of the document itself has the path ``""`` and a sentence
    that names it as ``whole`` does ("The request body")."""
    return [_field_error(detail, whole) for detail in error.errors(include_url=False)]


def _field_error(detail: Any, whole: str) -> FieldError:
    location = ".".join(str(part) for part in detail["loc"])
    kind = detail["type"]
    if not location:  # the document itself, e.g. a JSON array: a whole sentence
        if kind in ("model_type", "model_attributes_type", "dict_type"):
            return FieldError("", f"{whole} must be a JSON object.")
        return FieldError("", f"{whole}: {detail['msg']}.")
    if kind == "extra_forbidden":
        return FieldError(location, "is not a known field")
    if kind == "missing":
        return FieldError(location, "is required")
    return FieldError(location, str(detail["msg"]).removeprefix("Value error, "))
