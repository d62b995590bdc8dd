"""old URLs of imported articles

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 04:00:00.000000

Imports keep the paths an article had on the site it came from (a WordPress permalink,
its ``/?p=<id>`` short link): each answers 301 to the article's page.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.storage.tables

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legacy_paths",
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("article_pk", sa.Integer(), nullable=False),
        sa.Column("created_at", app.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_pk"],
            ["articles.pk"],
            name=op.f("fk_legacy_paths_article_pk_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("path", name=op.f("pk_legacy_paths")),
    )
    with op.batch_alter_table("legacy_paths", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_legacy_paths_article_pk"), ["article_pk"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("legacy_paths", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legacy_paths_article_pk"))
    op.drop_table("legacy_paths")
