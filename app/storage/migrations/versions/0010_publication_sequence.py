"""publication sequence

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 13:00:00.000000

Archives were periods of time (a month, a day or an hour), so the site feed held every
article since the last period ended, and a backdated article changed a closed archive.
Archives are now pages of a fixed number of articles in the order they became public:
each article gets a publication sequence number. The numbers are not given here: the next
render pass numbers every public article oldest first, with the service's clock, which
gives an existing site pages in date order. Archive feeds stored under period keys
(``archive/2026-08``) are removed; their URLs answer with a redirect to the page that holds
the period's newest article. Entry ids do not change.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("sequence", sa.BigInteger(), nullable=True))
    op.create_index("ix_articles_sequence", "articles", ["sequence"], unique=True)
    op.create_index(
        "ix_articles_unnumbered",
        "articles",
        ["published_at", "pk"],
        sqlite_where=sa.text("sequence IS NULL AND deleted_at IS NULL"),
        postgresql_where=sa.text("sequence IS NULL AND deleted_at IS NULL"),
    )
    op.create_table(
        "publication_counter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("next_sequence", sa.BigInteger(), nullable=False),
        sa.Column("page_size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publication_counter")),
    )
    op.add_column(
        "site_identity", sa.Column("render_fingerprint", sa.String(length=64), nullable=True)
    )
    _remove_period_archives()


def downgrade() -> None:
    _remove_period_archives()
    op.drop_column("site_identity", "render_fingerprint")
    op.drop_table("publication_counter")
    op.drop_index("ix_articles_unnumbered", table_name="articles")
    op.drop_index("ix_articles_sequence", table_name="articles")
    op.drop_column("articles", "sequence")


def _remove_period_archives() -> None:
    """Archive feeds of the other layout: their keys mean something else in this one (the
    next render pass makes what the layout needs)."""
    snapshots = sa.table("feed_snapshots", sa.column("feed_key", sa.String()))
    states = sa.table("feed_states", sa.column("scope_key", sa.String()))
    op.execute(snapshots.delete().where(snapshots.c.feed_key.like("archive/%")))
    op.execute(states.delete().where(states.c.scope_key.like("archive/%")))
