"""The webhook use cases: register, list and remove the endpoints told of changes.

An endpoint is either a receiver of signed events (preset ``signed``, Standard Webhooks,
see :mod:`app.webhook_events`) or a CDN's purge-by-key API (``fastly``, ``cloudflare``),
which is called with the keys an event made stale and the CDN's credentials from the
settings. Events are written by the writes they announce (:mod:`app.storage.webhooks`)
and sent by the scheduler (:mod:`app.webhook_delivery`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlsplit

from app.errors import FieldError
from app.errors import InvalidInput
from app.settings import Settings
from app.storage.database import Database
from app.storage.webhooks import WebhookOutbox
from app.storage.webhooks import WebhookRepository
from app.webhook_events import ALL_EVENTS
from app.webhook_events import CLOUDFLARE
from app.webhook_events import EVENT_TYPES
from app.webhook_events import FASTLY
from app.webhook_events import PRESET_URLS
from app.webhook_events import PRESETS
from app.webhook_events import SIGNED
from app.webhook_events import Delivery
from app.webhook_events import Webhook
from app.webhook_events import new_secret
from app.webhook_events import secret_key

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_LOCAL_HOSTS = frozenset({"localhost"})
INVALID_WEBHOOK = "The webhook is invalid."


class Webhooks:
    """The webhook use cases over one database."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.db = database
        self.settings = settings

    def add(
        self,
        name: str,
        now: datetime,
        *,
        url: str | None = None,
        events: Iterable[str] = (),
        preset: str = SIGNED,
        secret: str | None = None,
    ) -> tuple[Webhook, str | None]:
        """Register a webhook; return it and, for a signed one, its secret (made here
        unless given: shown once by the command, and kept to sign).

        Raises:
            InvalidInput: every bad field named: a name that is not 1 to 100 letters,
                digits, ``.``, ``_`` or ``-``; an unknown preset or event; a URL that is
                not absolute ``https`` (``http`` only to 127.0.0.1, ::1 or localhost, or
                with ``webhooks.allow_http``), or missing for a signed webhook; a secret
                that is not ``whsec_`` and base64 of 24 to 64 bytes, or given to a purge
                preset; a purge preset whose CDN credentials are not set.
            WebhookNameTaken.
        """
        errors: list[FieldError] = []
        if not _NAME.fullmatch(name):
            errors.append(FieldError("name", "must be 1 to 100 letters, digits, '.', '_' or "
                                             "'-', starting with a letter or digit"))  # fmt: skip
        chosen = _events(events, errors)
        if preset not in PRESETS:
            errors.append(FieldError("preset", f"must be one of {', '.join(PRESETS)}"))
        target = url if url is not None else PRESET_URLS.get(preset)
        if target is None:
            errors.append(FieldError("url", "is required for a signed webhook"))
        else:
            problem = url_problem(target, self.settings.webhooks_allow_http)
            if problem:
                errors.append(FieldError("url", problem))
        errors += self._secret_problems(preset, secret)
        if errors:
            raise InvalidInput(errors, INVALID_WEBHOOK)
        assert target is not None
        kept = (secret or new_secret()) if preset == SIGNED else None
        # A preset's URL is the base its API paths are joined to; a receiver's is its own.
        target = target if preset == SIGNED else target.rstrip("/")
        webhook = Webhook(name, target, chosen, preset, now, kept)
        with self.db.write() as session:
            WebhookRepository(session).add(webhook)
        return webhook, kept

    def _secret_problems(self, preset: str, secret: str | None) -> list[FieldError]:
        if preset != SIGNED:
            errors = []
            if secret is not None:
                errors.append(FieldError("secret", "is for signed webhooks only"))
            missing = missing_credentials(self.settings, preset)
            if missing:
                errors.append(FieldError("preset", f"needs the settings {missing} set"))
            return errors
        if secret is None:
            return []
        try:
            secret_key(secret)
        except ValueError as error:
            return [FieldError("secret", str(error))]
        return []

    def pending(self) -> list[Delivery]:
        """Every event still waiting for its webhook, oldest first."""
        with self.db.read() as session:
            return WebhookOutbox(session).pending()

    def list(self) -> list[Webhook]:
        """Every webhook, oldest first."""
        with self.db.read() as session:
            return WebhookRepository(session).list()

    def remove(self, name: str) -> int:
        """Remove a webhook and the events waiting for it; return how many were waiting.

        Raises:
            WebhookNotFound.
        """
        with self.db.write() as session:
            return WebhookRepository(session).remove(name)


def _events(events: Iterable[str], errors: list[FieldError]) -> str:
    """The stored form of the events asked for (comma-separated, or ``all``)."""
    names = [name.strip() for given in events for name in given.split(",") if name.strip()]
    unknown = [name for name in names if name not in (*EVENT_TYPES, ALL_EVENTS)]
    if unknown:
        said = ", ".join(EVENT_TYPES)
        errors.append(FieldError("events", f"unknown {', '.join(unknown)}; use {said} or all"))
    if not names or ALL_EVENTS in names:
        return ALL_EVENTS
    return ",".join(name for name in EVENT_TYPES if name in names)


def url_problem(url: str, allow_http: bool) -> str | None:
    """Why ``url`` cannot be a webhook's, or None. HTTPS, so that neither the events nor
    a CDN's credentials cross the network in the clear; plain HTTP only to this machine
    (or where the operator allows it, on a network of their own)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "must be an absolute https URL"
    if parts.scheme not in ("http", "https") or not host or len(url) > 2000:
        return "must be an absolute https URL (at most 2000 characters)"
    if any(char.isspace() for char in url) or not url.isprintable() or parts.fragment:
        return "must be an absolute https URL without spaces or a fragment"
    if parts.scheme == "http" and not allow_http and not _is_local(host):
        return (
            "must use https (http only to 127.0.0.1, ::1 or localhost, or with the setting "
            "webhooks.allow_http)"
        )
    return None


def _is_local(host: str) -> bool:
    if host in _LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def missing_credentials(settings: Settings, preset: str) -> str:
    """The settings a purge preset needs that are not set ("" when none is missing)."""
    needed = {
        FASTLY: ("cdn_fastly_service_id", "cdn_fastly_key"),
        CLOUDFLARE: ("cdn_cloudflare_zone_id", "cdn_cloudflare_token"),
    }.get(preset, ())
    return ", ".join(name for name in needed if not getattr(settings, name))
