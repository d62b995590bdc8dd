"""API tokens: each is stored as its key id (not secret) and the SHA-256 of the whole token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import ApiToken
from app.errors import TokenNameTaken
from app.errors import TokenNotFound
from app.storage.tables import ApiTokenRow


class TokenRepository:
    """Creates, finds, lists and revokes tokens."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        name: str,
        key_id: str,
        token_hash: str,
        now: datetime,
        expires_at: datetime | None = None,
    ) -> ApiToken:
        """Store a new token under ``name``.

        Raises:
            TokenNameTaken: a token (active, expired or revoked) already has that name.
        """
        if self.session.scalar(select(ApiTokenRow.pk).where(ApiTokenRow.name == name)):
            raise TokenNameTaken(f"A token named {name!r} exists already.")
        row = ApiTokenRow(
            name=name, key_id=key_id, token_hash=token_hash, created_at=now, expires_at=expires_at
        )
        self.session.add(row)
        self.session.flush()
        return _token(row)

    def find(self, key_id: str) -> tuple[ApiToken, str] | None:
        """The token with that key id and its stored digest, whatever its state."""
        row = self.session.scalars(select(ApiTokenRow).where(ApiTokenRow.key_id == key_id)).first()
        return None if row is None else (_token(row), row.token_hash)

    def list(self) -> list[ApiToken]:
        """Every token, oldest first."""
        rows = self.session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.pk))
        return [_token(row) for row in rows]

    def revoke(self, name: str, now: datetime) -> ApiToken:
        """Revoke the token named ``name`` (revoking twice keeps the first time).

        Raises:
            TokenNotFound: no token has that name.
        """
        row = self.session.scalars(select(ApiTokenRow).where(ApiTokenRow.name == name)).first()
        if row is None:
            raise TokenNotFound(f"No token is named {name!r}.")
        if row.revoked_at is None:
            row.revoked_at = now
        return _token(row)


def _token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(
        name=row.name,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
    )
