"""The webhooks' tables (SQLAlchemy 2 typed declarative, on the one ``Base`` of
:mod:`app.storage.tables`; ``app/storage/__init__.py`` imports this module, so that its
metadata holds them wherever the tables are known). Only storage modules import this."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.storage.tables import Base
from app.storage.tables import UTCDateTime


class WebhookRow(Base):
    """An endpoint told of events: a receiver that verifies our signature (preset
    ``signed``), or a CDN's purge-by-key API (``fastly``, ``cloudflare``)."""

    __tablename__ = "webhooks"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    # The signing key (Standard Webhooks ``whsec_<base64>``): kept, since signing needs it.
    secret: Mapped[str | None] = mapped_column(String(200))
    # Comma-separated event types, or "all".
    events: Mapped[str] = mapped_column(String(300))
    preset: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookOutboxRow(Base):
    """One event waiting for one webhook: written in the transaction of the change it
    announces, deleted when delivered. ``next_attempt_at`` is also the claim's lease: a
    deliverer pushes it past the end of its pass, so no other one sends the row meanwhile."""

    __tablename__ = "webhook_outbox"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The id receivers de-duplicate by (the same on every retry): a UUID.
    event_id: Mapped[str] = mapped_column(String(36))
    webhook_pk: Mapped[int] = mapped_column(
        ForeignKey("webhooks.pk", ondelete="CASCADE"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("event_id", "webhook_pk"),)
