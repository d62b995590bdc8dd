"""Secrets shown once and kept only as digests: API tokens and private feed keys.

Each reads ``<prefix><key id>_<secret>``: the key id (16 hex digits) is not secret and
finds the stored row; only the SHA-256 of the whole is stored besides, and a presented
secret is checked by comparing digests in constant time. Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from app.errors import FieldError

#: The shortest and the longest life a secret may be given.
MIN_LIFETIME = timedelta(hours=1)
MAX_LIFETIME = timedelta(days=36_525)
KEY_ID_BYTES = 8
SECRET_BYTES = 32
#: secrets.token_urlsafe(32): 256 bits in unpadded base64url.
SECRET_LENGTH = 43
_NO_DIGEST = "0" * 64


def new_keyed_secret(prefix: str) -> tuple[str, str]:
    """A new secret with a key id: the key id, and the whole secret to show once."""
    key_id = secrets.token_hex(KEY_ID_BYTES)
    return key_id, f"{prefix}{key_id}_{secrets.token_urlsafe(SECRET_BYTES)}"


def secret_digest(secret: str) -> str:
    """What is stored of a secret: its SHA-256, in hex."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def digest_matches(stored: str | None, secret: str) -> bool:
    """Whether ``secret`` is the one whose digest was stored (``None``: none was found).
    The digests are compared by :func:`hmac.compare_digest`, whose time does not depend
    on where they differ, and even when none was found, so that an unknown key id costs
    the same as a wrong secret."""
    matches = hmac.compare_digest(stored or _NO_DIGEST, secret_digest(secret))
    return stored is not None and matches


def lifetime_errors(expires_in: timedelta | None) -> list[FieldError]:
    """The error of an ``expires_in`` out of bounds (none for ``None``: never expires)."""
    if expires_in is not None and not MIN_LIFETIME <= expires_in <= MAX_LIFETIME:
        return [FieldError("expires_in", "must be from one hour to 100 years")]
    return []
