"""The rules of single values a publisher sends: URLs, e-mail addresses, times, and the
field types of an article built on them. Contains no I/O.

Each rule is written once and read three ways: as a validator of the models in
:mod:`app.inputs`, as a JSON Schema pattern or bound in the OpenAPI document, and by the
use cases through those models.
"""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import UTC
from datetime import datetime
from typing import Annotated
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator
from pydantic import Field
from pydantic import PlainValidator
from pydantic import WithJsonSchema

from app.language_tags import LANGUAGE_TAG_MAX_LENGTH

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
