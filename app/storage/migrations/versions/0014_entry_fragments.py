"""entry fragments

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 22:00:00.000000

Each article's feed entry, as rendered in the three formats for one rendering context, so
that a feed is joined from stored entries in any process instead of rendering every entry
again (a scheduler that starts, ``broadsheet regenerate``, each of its worker processes).
Empty at first: entries are stored as feeds are next rendered.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.storage.tables import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entry_fragments",
        sa.Column("article_id", sa.String(length=200), nullable=False),
        sa.Column("context", sa.String(length=100), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("lengths", sa.String(length=64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("article_id", "context"),
    )


def downgrade() -> None:
    op.drop_table("entry_fragments")
