"""Private feed subscribers: each is stored as its name, its profile, its key id (not
secret) and the SHA-256 of its whole feed key, as API tokens are (:mod:`app.storage.tokens`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.domain import Subscriber
from app.errors import SubscriberNameTaken
from app.errors import SubscriberNotFound
from app.storage.tables import SubscriberRow


class SubscriberRepository:
    """Creates, finds, lists and revokes subscribers; says which profiles are read."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        name: str,
        profile: str,
        key_id: str,
        key_hash: str,
        now: datetime,
        expires_at: datetime | None,
    ) -> Subscriber:
        """Store a new subscriber under ``name``.

        Raises:
            SubscriberNameTaken: a subscriber (active, expired or revoked) has that name.
        """
        if self.session.scalar(select(SubscriberRow.pk).where(SubscriberRow.name == name)):
            raise SubscriberNameTaken(f"A subscriber named {name!r} exists already.")
        row = SubscriberRow(
            name=name,
            profile=profile,
            key_id=key_id,
            key_hash=key_hash,
            created_at=now,
            expires_at=expires_at,
        )
        self.session.add(row)
        self.session.flush()
        return _subscriber(row)

    def find(self, key_id: str) -> tuple[Subscriber, str] | None:
        """The subscriber with that key id and its stored digest, whatever its state."""
        row = self.session.scalars(
            select(SubscriberRow).where(SubscriberRow.key_id == key_id)
        ).first()
        return None if row is None else (_subscriber(row), row.key_hash)

    def list(self) -> list[Subscriber]:
        """Every subscriber, oldest first."""
        rows = self.session.scalars(select(SubscriberRow).order_by(SubscriberRow.pk))
        return [_subscriber(row) for row in rows]

    def revoke(self, name: str, now: datetime) -> Subscriber:
        """Revoke the subscriber named ``name`` (revoking twice keeps the first time).

        Raises:
            SubscriberNotFound: no subscriber has that name.
        """
        row = self.session.scalars(select(SubscriberRow).where(SubscriberRow.name == name)).first()
        if row is None:
            raise SubscriberNotFound(f"No subscriber is named {name!r}.")
        if row.revoked_at is None:
            row.revoked_at = now
        return _subscriber(row)

    def profiles(self, now: datetime) -> tuple[set[str], set[str]]:
        """The profiles some active subscriber has at ``now``, and every profile any
        subscriber ever had (the ones whose private documents may be stored): a row per
        profile, however many subscribers (every feed's render asks)."""
        active = and_(
            SubscriberRow.revoked_at.is_(None),
            or_(SubscriberRow.expires_at.is_(None), SubscriberRow.expires_at > now),
        )
        rows = self.session.execute(
            select(SubscriberRow.profile, func.max(case((active, 1), else_=0))).group_by(
                SubscriberRow.profile
            )
        )
        found = {profile: bool(read) for profile, read in rows}
        return {profile for profile, read in found.items() if read}, set(found)

    def touch(self, name: str, now: datetime) -> None:
        """Record that ``name`` read a feed at ``now``."""
        self.session.execute(
            update(SubscriberRow).where(SubscriberRow.name == name).values(last_used_at=now)
        )


def _subscriber(row: SubscriberRow) -> Subscriber:
    return Subscriber(
        name=row.name,
        profile=row.profile,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )
