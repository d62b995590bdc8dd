"""``broadsheet webhook``: add, list and remove the endpoints told of changes."""

from __future__ import annotations

from datetime import UTC

import click

from app.cli.common import command_services
from app.cli.common import domain_errors
from app.webhook_events import EVENT_TYPES
from app.webhook_events import PRESETS
from app.webhook_events import SIGNED


@click.group()
def webhook() -> None:
    """Add, list and remove webhooks: signed event receivers and CDN purge presets."""


@webhook.command("add")
@click.option("--name", required=True, help="What to call it, e.g. search-index.")
@click.option(
    "--url",
    help="Where to POST (https; http only to 127.0.0.1 or localhost). A purge preset "
    "defaults to its CDN's API.",
)
@click.option(
    "--events",
    multiple=True,
    help=f"Which events, comma-separated or repeated: {', '.join(EVENT_TYPES)} or all "
    "(the default).",
)
@click.option(
    "--preset",
    type=click.Choice(PRESETS),
    default=SIGNED,
    show_default=True,
    help="signed: Standard Webhooks events; fastly or cloudflare: purge by surrogate key.",
)
@click.option(
    "--secret",
    help="A signed webhook's secret (whsec_ and base64 of 24 to 64 bytes); made and "
    "printed once if not given.",
)
@domain_errors
def webhook_add(
    name: str, url: str | None, events: tuple[str, ...], preset: str, secret: str | None
) -> None:
    """Add a webhook; print a signed webhook's secret (when it was made here: shown once)."""
    with command_services() as services:
        created, kept = services.webhooks.add(
            name, services.clock(), url=url, events=events, preset=preset, secret=secret
        )
    if kept is not None and secret is None:
        click.echo(kept)
    click.echo(
        f"webhook {created.name!r} added: {created.preset} to {created.url} for "
        f"{created.events}" + ("; store the secret now, it is not shown again" if
                               kept is not None and secret is None else ""),
        err=True,
    )  # fmt: skip


@webhook.command("list")
@domain_errors
def webhook_list() -> None:
    """List webhooks: name, preset, URL, events, created (UTC) and events waiting."""
    with command_services() as services:
        found = services.webhooks.list()
        waiting: dict[str, int] = {}
        for delivery in services.webhooks.pending():
            name = delivery.webhook.name
            waiting[name] = waiting.get(name, 0) + 1
    for item in found:
        fields = (
            item.name,
            item.preset,
            item.url,
            item.events,
            f"created {item.created_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
            f"{waiting.get(item.name, 0)} waiting",
        )
        click.echo("\t".join(fields))


@webhook.command("remove")
@click.argument("name")
@domain_errors
def webhook_remove(name: str) -> None:
    """Remove a webhook, and the events still waiting for it."""
    with command_services() as services:
        dropped = services.webhooks.remove(name)
    click.echo(f"webhook {name!r} removed ({dropped} events waiting were dropped)")
