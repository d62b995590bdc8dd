"""subscriber counts per reporter

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 17:30:00.000000

An aggregator may poll one feed under several of its records (Feedly's feed-ids), each
reporting its own subscriber count; one count per client family kept only the last one
sent. Each reporter (the User-Agent with its count blanked out) now keeps its latest
count, and a family's subscribers are their sum. The counts stored so far become one
report per family, its reporter being the family's name.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.storage.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_subscriber_reports",
        sa.Column("feed_key", sa.String(length=300), nullable=False),
        sa.Column("family", sa.String(length=100), nullable=False),
        sa.Column("reporter", sa.String(length=500), nullable=False),
        sa.Column("subscribers", sa.BigInteger(), nullable=False),
        sa.Column("last_seen", app.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "feed_key", "family", "reporter", name=op.f("pk_feed_subscriber_reports")
        ),
    )
    op.execute(
        "INSERT INTO feed_subscriber_reports (feed_key, family, reporter, subscribers,"
        " last_seen) SELECT feed_key, family, family, subscribers, last_seen"
        " FROM feed_clients WHERE subscribers IS NOT NULL"
    )
    with op.batch_alter_table("feed_clients", schema=None) as batch_op:
        batch_op.drop_column("subscribers")


def downgrade() -> None:
    with op.batch_alter_table("feed_clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subscribers", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE feed_clients SET subscribers = (SELECT sum(r.subscribers)"
        " FROM feed_subscriber_reports r"
        " WHERE r.feed_key = feed_clients.feed_key AND r.family = feed_clients.family)"
    )
    op.drop_table("feed_subscriber_reports")
