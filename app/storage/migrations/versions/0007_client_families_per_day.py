"""client families per day

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 17:40:00.000000

Requests per client family were kept for all time, so `stats --days N` showed the
families' all-time requests next to N days of totals. They are now kept per UTC day like
the totals; the counts so far go to the day each family was last seen.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.storage.tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_client_days",
        sa.Column("feed_key", sa.String(length=300), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("family", sa.String(length=100), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("last_seen", app.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("feed_key", "day", "family", name=op.f("pk_feed_client_days")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "INSERT INTO feed_client_days (feed_key, day, family, requests, last_seen)"
            " SELECT feed_key, to_char(last_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD'), family,"
            " requests, last_seen FROM feed_clients"
        )
    else:  # SQLite holds the times as UTC ISO text
        op.execute(
            "INSERT INTO feed_client_days (feed_key, day, family, requests, last_seen)"
            " SELECT feed_key, substr(last_seen, 1, 10), family, requests, last_seen"
            " FROM feed_clients"
        )
    op.drop_table("feed_clients")


def downgrade() -> None:
    op.create_table(
        "feed_clients",
        sa.Column("feed_key", sa.String(length=300), nullable=False),
        sa.Column("family", sa.String(length=100), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("last_seen", app.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("feed_key", "family", name=op.f("pk_feed_clients")),
    )
    op.execute(
        "INSERT INTO feed_clients (feed_key, family, requests, last_seen)"
        " SELECT feed_key, family, sum(requests), max(last_seen) FROM feed_client_days"
        " GROUP BY feed_key, family"
    )
    op.drop_table("feed_client_days")
