"""rebuild requests

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 19:30:00.000000

A rebuild (after a change of rendering code or settings, ``broadsheet regenerate``, the
periodic safety net) marked feeds stale the way a write does, so a newly published
article's feeds waited behind every feed of the rebuild. A rebuild now records when it was
asked for in ``stale_since``, and the render passes take feeds with unrendered writes first.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.storage.tables import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "feed_states", sa.Column("stale_since", UTCDateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("feed_states") as batch:
        batch.drop_column("stale_since")
