"""API tokens: made, found, listed and revoked; the one place a presented secret is checked.

A token reads ``bst_<key id>_<secret>``. Only the key id (not secret) and the SHA-256 of
the whole token are stored, so a copy of the database gives no usable token.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from app.domain import ApiToken
from app.errors import AuthenticationFailed
from app.errors import FieldError
from app.errors import InvalidInput
from app.secret_keys import KEY_ID_BYTES
from app.secret_keys import SECRET_LENGTH
from app.secret_keys import digest_matches
from app.secret_keys import lifetime_errors
from app.secret_keys import new_keyed_secret
from app.secret_keys import secret_digest
from app.storage.database import Database
from app.storage.tokens import TokenRepository

TOKEN_PREFIX = "bst_"  # noqa: S105 - a visible prefix, not a secret
LEGACY_KEY_PREFIX = "legacy-"


class Access:
    """The token use cases over one database."""

    def __init__(self, database: Database) -> None:
        self.db = database

    def create_token(
        self, name: str, now: datetime, expires_in: timedelta | None = None
    ) -> tuple[ApiToken, str]:
        """Create a token named ``name``; return it and its secret (shown once, never stored).

        The token reads ``bst_<key id>_<secret>``: the key id, 16 hex digits, is stored as
        it is and finds the token; only the SHA-256 of the whole token is stored besides.
        With ``expires_in`` it stops working that long after ``now``; without, never.

        Raises:
            InvalidInput: the name is empty or too long, or ``expires_in`` is not from one
                hour to 100 years.
            TokenNameTaken.
        """
        name = name.strip()
        errors = []
        if not name or len(name) > 100:
            errors.append(FieldError("name", "must be 1 to 100 characters"))
        errors += lifetime_errors(expires_in)
        if errors:
            raise InvalidInput(errors, "The token is invalid.")
        key_id, secret = new_keyed_secret(TOKEN_PREFIX)
        expires_at = now + expires_in if expires_in is not None else None
        with self.db.write() as session:
            tokens = TokenRepository(session)
            token = tokens.add(name, key_id, secret_digest(secret), now, expires_at)
        return token, secret

    def authenticate(self, secret: str | None, now: datetime) -> ApiToken:
        """The token whose secret this is, if it is active at ``now``.

        The token is found by its key id, which is not secret, and the stored digest is
        compared with the digest of what was sent by :func:`hmac.compare_digest`, whose time
        does not depend on where they differ. Tokens made before key ids existed are found
        by the first digits of their digest, which tell nothing of the secret either.

        Raises:
            AuthenticationFailed: missing, malformed, unknown, wrong, expired or revoked,
                all alike, without saying which.
        """
        key_id = _key_id(secret)
        found = None
        if key_id is not None:
            with self.db.read() as session:
                found = TokenRepository(session).find(key_id)
        matches = digest_matches(found[1] if found is not None else None, secret or "")
        if found is None or not matches or not found[0].active(now):
            raise AuthenticationFailed("A valid bearer token is required.")
        return found[0]

    def list_tokens(self) -> list[ApiToken]:
        """Every token: active, expired and revoked."""
        with self.db.read() as session:
            return TokenRepository(session).list()

    def revoke_token(self, name: str, now: datetime) -> ApiToken:
        """Revoke a token by name. Raises: TokenNotFound."""
        with self.db.write() as session:
            return TokenRepository(session).revoke(name, now)


def _key_id(secret: str | None) -> str | None:
    """The key id a presented token names, or ``None`` when it is not a token's shape."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    body = secret.removeprefix(TOKEN_PREFIX)
    key_id, underscore, rest = body.partition("_")
    if (
        underscore
        and len(key_id) == 2 * KEY_ID_BYTES
        and all(c in "0123456789abcdef" for c in key_id)
        and len(rest) == SECRET_LENGTH
    ):
        return key_id
    if len(body) == SECRET_LENGTH:  # made before key ids: see migration 0005
        return LEGACY_KEY_PREFIX + secret_digest(secret)[:16]
    return None
