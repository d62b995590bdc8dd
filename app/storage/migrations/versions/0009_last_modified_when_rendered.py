"""last modified when rendered

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 10:00:00.000000

A feed's Last-Modified was its newest entry's date, which can be long before its bytes
existed (an article dated 0001-01-02 gave an archive Last-Modified in year 1, so any
If-Modified-Since answered 304 for a document the client never saw). It is now the time
the bytes were rendered. Stored snapshots keep their bytes; those whose Last-Modified is
earlier than their render take the render time (RFC 9110 section 8.8.2: a time at which
the representation existed). Nothing to undo: the later time is true under both rules.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    snapshots = sa.table(
        "feed_snapshots",
        sa.column("last_modified", sa.DateTime()),
        sa.column("rendered_at", sa.DateTime()),
    )
    op.execute(
        snapshots.update()
        .where(snapshots.c.last_modified < snapshots.c.rendered_at)
        .values(last_modified=snapshots.c.rendered_at)
    )


def downgrade() -> None:
    pass
