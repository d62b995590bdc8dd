"""``broadsheet subscriber``: create, list and revoke the readers of private feeds."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import click

from app.cli.common import command_services
from app.cli.common import domain_errors
from app.cli.tokens import Lifetime
from app.domain import SITE_SCOPE
from app.domain import FeedFormat
from app.domain import Subscriber
from app.private_feeds import private_feed_path
from app.profiles import FULL
from app.profiles import parse_profile


@click.group()
def subscriber() -> None:
    """Create, list and revoke the readers of private feeds (partners, paying readers)."""


class ProfileName(click.ParamType[str]):
    """A feed profile: full, summary or paragraphs:N."""

    name = "profile"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return parse_profile(str(value)).name
        except ValueError as error:
            self.fail(str(error), param, ctx)


@subscriber.command("create")
@click.option("--name", required=True, help="Who reads, e.g. agencia-x (letters, digits, . _ -).")
@click.option(
    "--profile",
    type=ProfileName(),
    default=FULL,
    show_default=True,
    help="How much text every feed carries: full, summary or paragraphs:N.",
)
@click.option(
    "--expires-in",
    type=Lifetime(),
    default="never",
    show_default=True,
    help="How long the key works: hours or days, e.g. 12h or 90d (at most 100 years).",
)
@domain_errors
def subscriber_create(name: str, profile: str, expires_in: timedelta | None) -> None:
    """Create a subscriber; print its feed key and its private feed URLs (shown this
    once: only a hash of the key is stored)."""
    with command_services() as services:
        created, key = services.subscribers.create(name, services.clock(), profile, expires_in)
        base = services.settings.base_url
    click.echo(key)
    for fmt in FeedFormat:
        click.echo(base + private_feed_path(key, SITE_SCOPE, fmt))
    until = "" if created.expires_at is None else f" (expires {_minute(created.expires_at)})"
    click.echo(
        f"subscriber {created.name!r} created with profile {created.profile}{until}; every "
        "feed has its private URL under the same prefix (/category/<slug>/feed.atom...); "
        "store the key now, it is not shown again",
        err=True,
    )


@subscriber.command("list")
@domain_errors
def subscriber_list() -> None:
    """List subscribers: name, profile, created, state, expiry and last use (UTC)."""
    with command_services() as services:
        found = services.subscribers.list()
        now = services.clock()
    for item in found:
        fields = (
            item.name,
            f"profile {item.profile}",
            f"created {_minute(item.created_at)}",
            _state(item, now),
            "never expires" if item.expires_at is None else f"expires {_minute(item.expires_at)}",
            "never used" if item.last_used_at is None else f"used {_minute(item.last_used_at)}",
        )
        click.echo("\t".join(fields))


@subscriber.command("revoke")
@click.argument("name")
@domain_errors
def subscriber_revoke(name: str) -> None:
    """Revoke a subscriber: its key opens no feed from now on (403)."""
    with command_services() as services:
        services.subscribers.revoke(name, services.clock())
    click.echo(f"subscriber {name!r} revoked")


def _state(item: Subscriber, now: datetime) -> str:
    if item.revoked_at is not None:
        return f"revoked {_minute(item.revoked_at)}"
    return "active" if item.active(now) else "expired"


def _minute(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
