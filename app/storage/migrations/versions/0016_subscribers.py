"""subscribers of private feeds

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 03:00:00.000000

Private feeds: each subscriber has a feed key of its own (stored as API tokens are: the
non-secret part and the SHA-256 of the rest), a profile, an expiry and a revocation time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.storage.tables

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscribers",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("key_id", sa.String(32), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("profile", sa.String(40), nullable=False),
        sa.Column("created_at", app.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", app.storage.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", app.storage.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", app.storage.tables.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("subscribers")
