"""JSON as it arrives, a request body or a line of an import: UTF-8 text, parsed by pydantic
into a model, every refusal named by field in plain words. Contains no I/O.

The models themselves, and the rules of each field, are in :mod:`app.inputs` and
:mod:`app.input_values`.
"""

from __future__ import annotations

import json
import re
from typing import Any
from typing import TypeVar

from pydantic import BaseModel
from pydantic import ValidationError

from app.errors import FieldError
from app.errors import InvalidInput
from app.errors import MalformedJson

_Model = TypeVar("_Model", bound=BaseModel)


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
