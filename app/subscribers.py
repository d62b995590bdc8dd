"""Private feed subscribers: made, listed and revoked; the one place a presented feed key
is checked.

A feed key reads ``bsf_<key id>_<secret>`` and travels in the feed's URL (feed readers
cannot send headers). As with API tokens (:mod:`app.access`), only the key id (not
secret) and the SHA-256 of the whole key are stored, so a copy of the database opens no
feed. Private documents are rendered per profile (:mod:`app.snapshots`): this module
asks for the feeds to be rendered when a profile gains its first subscriber, and deletes
a profile's documents when its last one is revoked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta

from app.domain import Subscriber
from app.errors import FeedKeyRefused
from app.errors import FeedNotFound
from app.errors import FieldError
from app.errors import InvalidInput
from app.private_feeds import private_snapshot_prefix
from app.profiles import FULL
from app.profiles import parse_profile
from app.secret_keys import digest_matches
from app.secret_keys import lifetime_errors
from app.secret_keys import new_keyed_secret
from app.secret_keys import secret_digest
from app.storage.database import Database
from app.storage.feeds import SnapshotRepository
from app.storage.subscribers import SubscriberRepository

KEY_PREFIX = "bsf_"
#: How often a subscriber's last use is written at most: a reader polling every few
#: seconds must not turn each poll into a write.
LAST_USED_PRECISION = timedelta(minutes=1)
# A name is part of the poll statistics' keys (private/<name>/site:rss) and of commands.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_KEY = re.compile(r"bsf_([0-9a-f]{16})_[A-Za-z0-9_-]{43}")


class Subscribers:
    """The subscriber use cases over one database.

    ``render_all`` is called with the time when a subscriber brings a profile no active
    subscriber had: every subscription feed must then be rendered in that profile too
    (the composition root passes :meth:`FeedRenderer.mark_all_feeds_stale`).
    """

    def __init__(self, database: Database, render_all: Callable[[datetime], None]) -> None:
        self.db = database
        self._render_all = render_all

    def create(
        self, name: str, now: datetime, profile: str = FULL, expires_in: timedelta | None = None
    ) -> tuple[Subscriber, str]:
        """Create a subscriber; return it and its feed key (shown once, never stored).

        Raises:
            InvalidInput: the name is not 1 to 100 letters, digits, ``.``, ``_`` or ``-``
                (starting with a letter or digit), the profile is none
                (:func:`~app.profiles.parse_profile`), or ``expires_in`` is not from one
                hour to 100 years.
            SubscriberNameTaken.
        """
        errors = []
        if not _NAME.fullmatch(name):
            errors.append(
                FieldError("name", "must be 1 to 100 letters, digits, '.', '_' or '-', "
                                   "starting with a letter or digit")
            )  # fmt: skip
        try:
            parse_profile(profile)
        except ValueError as error:
            errors.append(FieldError("profile", str(error)))
        errors += lifetime_errors(expires_in)
        if errors:
            raise InvalidInput(errors, "The subscriber is invalid.")
        key_id, key = new_keyed_secret(KEY_PREFIX)
        expires_at = now + expires_in if expires_in is not None else None
        with self.db.write() as session:
            repo = SubscriberRepository(session)
            active, _ = repo.profiles(now)
            created = repo.add(name, profile, key_id, secret_digest(key), now, expires_at)
        if profile not in active:
            self._render_all(now)
        return created, key

    def open(self, key: str, path: str, now: datetime) -> Subscriber:
        """The subscriber whose feed key this is, if it is active at ``now`` (``path``, the
        request's with the key hidden, names what was not found). Records its use, at most
        once per :data:`LAST_USED_PRECISION`.

        The key is found by its key id, which is not secret, and the stored digest is
        compared with the digest of what was sent by :func:`hmac.compare_digest`, whose
        time does not depend on where they differ.

        Raises:
            FeedNotFound: malformed, unknown or wrong key, all alike.
            FeedKeyRefused: a key that was valid, revoked or expired.
        """
        shape = _KEY.fullmatch(key)
        found = None
        if shape is not None:
            with self.db.read() as session:
                found = SubscriberRepository(session).find(shape.group(1))
        matches = digest_matches(found[1] if found is not None else None, key)
        if found is None or not matches:
            raise FeedNotFound(path)
        subscriber = found[0]
        if not subscriber.active(now):
            raise FeedKeyRefused("This feed key has been revoked or has expired.")
        last = subscriber.last_used_at
        if last is None or now - last >= LAST_USED_PRECISION or now < last:
            with self.db.write() as session:
                SubscriberRepository(session).touch(subscriber.name, now)
        return subscriber

    def list(self) -> list[Subscriber]:
        """Every subscriber: active, expired and revoked."""
        with self.db.read() as session:
            return SubscriberRepository(session).list()

    def revoke(self, name: str, now: datetime) -> Subscriber:
        """Revoke a subscriber by name: its key opens nothing from now on. If no active
        subscriber is left with its profile, that profile's documents are deleted now.

        Raises:
            SubscriberNotFound.
        """
        with self.db.write() as session:
            repo = SubscriberRepository(session)
            revoked = repo.revoke(name, now)
            active, _ = repo.profiles(now)
            snapshots = SnapshotRepository(session)
            if revoked.profile not in active and snapshots.delete_prefixed(
                private_snapshot_prefix(revoked.profile)
            ):
                # Web processes drop what is no longer stored when the generation moves.
                snapshots.bump_generation()
        return revoked
