"""The one rule of a language tag (BCP 47), for the site's language (a setting) and every
article's (an input rule). Stdlib only: it sits below both.
"""

from __future__ import annotations

import re

# RFC 5646 (BCP 47) section 2.1: a language of 2-3 letters and up to three extended language
# subtags, then script, region, variants, extensions and private use; or private use alone.
# Left out: languages of 4-8 letters (reserved, none registered) and the deprecated
# grandfathered irregular tags such as i-klingon. The API document publishes the pattern.
_PRIMARY = r"[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}"
_SCRIPT = r"(?:-[A-Za-z]{4})?"
_REGION = r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"
_VARIANTS = r"(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
_EXTENSIONS = r"(?:-[0-9A-WYZa-wyz](?:-[A-Za-z0-9]{2,8})+)*"
_PRIVATE_USE = r"[Xx](?:-[A-Za-z0-9]{1,8})+"
#: What :func:`is_language_tag` accepts (a JSON Schema pattern as well as a Python one).
LANGUAGE_TAG_PATTERN = (
    f"^(?:{_PRIMARY}{_SCRIPT}{_REGION}{_VARIANTS}{_EXTENSIONS}(?:-{_PRIVATE_USE})?|{_PRIVATE_USE})$"
)
_LANGUAGE_TAG = re.compile(LANGUAGE_TAG_PATTERN)
#: The longest language tag stored (the API's limit, and the site's).
LANGUAGE_TAG_MAX_LENGTH = 35


def is_language_tag(value: str) -> bool:
    """Whether ``value`` is a well-formed BCP 47 language tag (:data:`LANGUAGE_TAG_PATTERN`)."""
    return _LANGUAGE_TAG.fullmatch(value) is not None
