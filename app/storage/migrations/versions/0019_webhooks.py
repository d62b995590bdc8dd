"""webhooks, their outbox, and the CDN keys of stored documents

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 04:00:00.000000

Webhooks: endpoints told of article and feed changes, signed (Standard Webhooks) or a
CDN's purge-by-key API; the outbox holds each event for each webhook until it is
delivered, written in the transaction of the change. Each stored document gets the
surrogate keys it is served with (NULL until it is rendered again).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.storage.tables

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(200), nullable=True),
        sa.Column("events", sa.String(300), nullable=False),
        sa.Column("preset", sa.String(40), nullable=False),
        sa.Column("created_at", app.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", app.storage.tables.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_webhooks")),
        sa.UniqueConstraint("name", name=op.f("uq_webhooks_name")),
    )
    op.create_table(
        "webhook_outbox",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("webhook_pk", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", app.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", app.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_pk"],
            ["webhooks.pk"],
            name=op.f("fk_webhook_outbox_webhook_pk_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_webhook_outbox")),
        sa.UniqueConstraint("event_id", "webhook_pk", name=op.f("uq_webhook_outbox_event_id")),
    )
    op.create_index(op.f("ix_webhook_outbox_webhook_pk"), "webhook_outbox", ["webhook_pk"])
    op.create_index(
        op.f("ix_webhook_outbox_next_attempt_at"), "webhook_outbox", ["next_attempt_at"]
    )
    op.add_column("feed_snapshots", sa.Column("surrogate_keys", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feed_snapshots") as batch:
        batch.drop_column("surrogate_keys")
    op.drop_index("ix_webhook_outbox_next_attempt_at", table_name="webhook_outbox")
    op.drop_index("ix_webhook_outbox_webhook_pk", table_name="webhook_outbox")
    op.drop_table("webhook_outbox")
    op.drop_table("webhooks")
