"""site identity

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 17:45:00.000000

Feed ids (atom:id, RFC 4287 section 4.2.6) were made at every render from the current
settings, so changing the site's host changed every feed's id. The first render now fixes
what they start with, and this table keeps it. It starts empty: the next render fills it
from the settings in force, which gives the ids feeds carry today.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_id_prefix", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_identity")),
    )


def downgrade() -> None:
    op.drop_table("site_identity")
