"""token key ids and expiry

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 14:30:00.000000

Each token gets a key id, the part of the token that is not secret, by which it is found
before its digest is compared in constant time. Tokens made before this revision carry no
such part; their key id is "legacy-" and the first 16 hex digits of their digest (which
tells nothing of the secret), so they keep working unchanged. Tokens may now expire.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.storage.tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("expires_at", app.storage.tables.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE api_tokens SET key_id = 'legacy-' || substr(token_hash, 1, 16)")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.alter_column("key_id", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_api_tokens_key_id"), ["key_id"])


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_api_tokens_key_id"), type_="unique")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("key_id")
