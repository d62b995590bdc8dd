"""``broadsheet token``: create, list and revoke API tokens."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import click

from app.cli.common import command_services
from app.cli.common import domain_errors


@click.group()
def token() -> None:
    """Create, list and revoke API tokens."""


_LIFETIME_UNITS = {"h": "hours", "d": "days"}


class Lifetime(click.ParamType[timedelta | None]):
    """A token lifetime: hours or days, as ``12h`` or ``90d``; ``never`` for none."""

    name = "lifetime"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta | None:
        if isinstance(value, timedelta) or value is None:
            return value
        text = str(value).strip().lower()
        if text == "never":
            return None
        number, unit = text[:-1], _LIFETIME_UNITS.get(text[-1:])
        if unit is None or not (number.isascii() and number.isdigit() and len(number) <= 6):
            self.fail(f"{value!r} is not a lifetime such as 12h, 90d or never", param, ctx)
        return timedelta(**{unit: int(number)})


@token.command("create")
@click.option("--name", required=True, help="Who or what uses the token, e.g. the CMS.")
@click.option(
    "--expires-in",
    type=Lifetime(),
    default="never",
    show_default=True,
    help="How long the token works: hours or days, e.g. 12h or 90d (at most 100 years).",
)
@domain_errors
def token_create(name: str, expires_in: timedelta | None) -> None:
    """Create a token and print its secret (shown this once; only a hash is stored)."""
    with command_services() as services:
        created, secret = services.access.create_token(name, services.clock(), expires_in)
    click.echo(secret)
    until = "" if created.expires_at is None else f" (expires {_minute(created.expires_at)})"
    click.echo(
        f"token {created.name!r} created{until}; store it now, it is not shown again", err=True
    )


@token.command("list")
@domain_errors
def token_list() -> None:
    """List tokens with their state and expiry (times in UTC)."""
    with command_services() as services:
        tokens = services.access.list_tokens()
        now = services.clock()
    for item in tokens:
        if item.revoked_at is not None:
            state = f"revoked {_minute(item.revoked_at)}"
        elif item.active(now):
            state = "active"
        else:
            state = "expired"
        expires = item.expires_at
        expiry = "never expires" if expires is None else f"expires {_minute(expires)}"
        click.echo(f"{item.name}\tcreated {_minute(item.created_at)}\t{state}\t{expiry}")


def _minute(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


@token.command("revoke")
@click.option("--name", required=True)
@domain_errors
def token_revoke(name: str) -> None:
    """Revoke a token; it stops working at once."""
    with command_services() as services:
        services.access.revoke_token(name, services.clock())
    click.echo(f"token {name!r} revoked")
