"""Poll statistics: per feed and day, and per feed and client family."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime

from sqlalchemy import Row
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import ClientCount
from app.domain import FeedPolls
from app.domain import PollCount
from app.domain import SubscriberReport
from app.storage.database import dialect_insert
from app.storage.tables import FeedClientRow
from app.storage.tables import FeedStatsRow
from app.storage.tables import SubscriberReportRow


class StatsRepository:
    """Adds counts (upserts that add) and reads them back."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add_polls(self, counts: Iterable[PollCount]) -> None:
        """Add per-day counts to the stored ones."""
        for count in counts:
            statement = dialect_insert(self.session, FeedStatsRow).values(
                feed_key=count.feed_key,
                day=count.day,
                requests=count.requests,
                not_modified=count.not_modified,
                throttled=count.throttled,
                bytes_sent=count.bytes_sent,
            )
            table = FeedStatsRow.__table__.c
            self.session.execute(
                statement.on_conflict_do_update(
                    index_elements=[table.feed_key, table.day],
                    set_={
                        "requests": table.requests + count.requests,
                        "not_modified": table.not_modified + count.not_modified,
                        "throttled": table.throttled + count.throttled,
                        "bytes_sent": table.bytes_sent + count.bytes_sent,
                    },
                )
            )

    def add_clients(self, counts: Iterable[ClientCount]) -> None:
        """Add per-client-family requests to those of the UTC day of their ``last_seen``
        (the recorder counts each day apart)."""
        for count in counts:
            statement = dialect_insert(self.session, FeedClientRow).values(
                feed_key=count.feed_key,
                day=count.last_seen.astimezone(UTC).date().isoformat(),
                family=count.family,
                requests=count.requests,
                last_seen=count.last_seen,
            )
            table = FeedClientRow.__table__.c
            self.session.execute(
                statement.on_conflict_do_update(
                    index_elements=[table.feed_key, table.day, table.family],
                    set_={
                        "requests": table.requests + count.requests,
                        # A process that flushes late must not move last_seen back.
                        "last_seen": case(
                            (
                                statement.excluded.last_seen > table.last_seen,
                                statement.excluded.last_seen,
                            ),
                            else_=table.last_seen,
                        ),
                    },
                )
            )

    def add_subscriber_reports(self, reports: Iterable[SubscriberReport]) -> None:
        """Keep each reporter's newest subscriber count (a report older than the stored
        one, from a web process that flushed late, changes nothing)."""
        for report in reports:
            statement = dialect_insert(self.session, SubscriberReportRow).values(
                feed_key=report.feed_key,
                family=report.family,
                reporter=report.reporter,
                subscribers=report.subscribers,
                last_seen=report.seen,
            )
            table = SubscriberReportRow.__table__.c
            self.session.execute(
                statement.on_conflict_do_update(
                    index_elements=[table.feed_key, table.family, table.reporter],
                    set_={
                        "subscribers": statement.excluded.subscribers,
                        "last_seen": statement.excluded.last_seen,
                    },
                    where=table.last_seen <= statement.excluded.last_seen,
                )
            )

    def feed_polls(self, since_day: str) -> list[FeedPolls]:
        """Totals per feed from ``since_day`` (YYYY-MM-DD) on, with their client families.

        A family's subscribers are the sum of the latest counts of its reporters that
        polled from ``since_day`` on (a reporter that stopped polling stops counting).
        """
        totals = self._feed_totals(since_day)
        since = datetime.fromisoformat(since_day).replace(tzinfo=UTC)
        clients = self._client_families(since_day, self._subscribers(since))
        return [
            FeedPolls(
                feed_key=key,
                requests=int(requests or 0),
                not_modified=int(not_modified or 0),
                throttled=int(throttled or 0),
                bytes_sent=int(bytes_sent or 0),
                clients=tuple(clients.get(key, [])),
            )
            for key, requests, not_modified, throttled, bytes_sent in totals
        ]

    def _feed_totals(self, since_day: str) -> Sequence[Row[str, int, int, int, int]]:
        """Per feed, by key: requests, not modified, throttled and bytes sent (sums, or
        ``None``) from ``since_day`` on."""
        return self.session.execute(
            select(
                FeedStatsRow.feed_key,
                func.sum(FeedStatsRow.requests),
                func.sum(FeedStatsRow.not_modified),
                func.sum(FeedStatsRow.throttled),
                func.sum(FeedStatsRow.bytes_sent),
            )
            .where(FeedStatsRow.day >= since_day)
            .group_by(FeedStatsRow.feed_key)
            .order_by(FeedStatsRow.feed_key)
        ).all()

    def _subscribers(self, since: datetime) -> dict[tuple[str, str], int]:
        """By feed and client family: the subscribers its reporters seen from ``since`` on
        last reported, summed."""
        return {
            (key, family): int(total)
            for key, family, total in self.session.execute(
                select(
                    SubscriberReportRow.feed_key,
                    SubscriberReportRow.family,
                    func.sum(SubscriberReportRow.subscribers),
                )
                .where(SubscriberReportRow.last_seen >= since)
                .group_by(SubscriberReportRow.feed_key, SubscriberReportRow.family)
            )
        }

    def _client_families(
        self, since_day: str, subscribers: dict[tuple[str, str], int]
    ) -> dict[str, list[ClientCount]]:
        """By feed: its client families from ``since_day`` on, most requests first, each
        with its ``subscribers`` (``None`` if none reported)."""
        clients: dict[str, list[ClientCount]] = {}
        requests = func.sum(FeedClientRow.requests)
        rows = self.session.execute(
            select(
                FeedClientRow.feed_key,
                FeedClientRow.family,
                requests,
                func.max(FeedClientRow.last_seen),
            )
            .where(FeedClientRow.day >= since_day)
            .group_by(FeedClientRow.feed_key, FeedClientRow.family)
            .order_by(FeedClientRow.feed_key, requests.desc(), FeedClientRow.family)
        )
        for key, family, count, last_seen in rows:
            reported = subscribers.get((key, family))
            clients.setdefault(key, []).append(
                ClientCount(key, family, int(count), reported, last_seen)
            )
        return clients
