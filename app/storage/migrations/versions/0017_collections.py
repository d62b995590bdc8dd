"""collections: curated and combined feeds declared over the API

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 03:00:00.000000

A collection is a feed scope of its own: a title and a definition (include and exclude
rules over categories, tags and authors, or an editor's ordered list of article ids),
kept as JSON. Collections declared in the settings are not stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.storage.tables

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collections",
        sa.Column("slug", sa.String(100), primary_key=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("created_at", app.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.storage.tables.UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("collections")
