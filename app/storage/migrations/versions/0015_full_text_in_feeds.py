"""full text in feeds

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 01:00:00.000000

An article may keep its full text out of every feed (feeds then carry its summary only,
whatever their profile): wire copy that may not be republished in full. Every article
stored before carried its full text, and keeps doing so.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "articles",
        sa.Column("full_text_in_feeds", sa.Boolean(), nullable=False, server_default=sa.true()),
    )


def downgrade() -> None:
    op.drop_column("articles", "full_text_in_feeds")
