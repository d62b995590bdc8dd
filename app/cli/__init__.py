"""The ``broadsheet`` command: serve, web, scheduler, health, migrate, demo, token,
subscriber, webhook, regenerate, import, export, stats.

Each module holds one family of commands (:mod:`app.cli.roles`, :mod:`app.cli.content`,
:mod:`app.cli.imports`, :mod:`app.cli.tokens`, :mod:`app.cli.subscribers`,
:mod:`app.cli.webhooks`); this one gathers them under :func:`main`, the console script.
"""

from __future__ import annotations

import click

from app.cli.common import CommandEnvironment
from app.cli.content import demo
from app.cli.content import export_command
from app.cli.content import migrate
from app.cli.content import regenerate
from app.cli.content import stats
from app.cli.imports import import_command
from app.cli.roles import health
from app.cli.roles import scheduler
from app.cli.roles import serve
from app.cli.roles import web
from app.cli.subscribers import subscriber
from app.cli.tokens import token
from app.cli.webhooks import webhook

__all__ = ["CommandEnvironment", "main"]


@click.group(
    commands=[
        serve,
        web,
        scheduler,
        health,
        migrate,
        demo,
        regenerate,
        import_command,
        export_command,
        stats,
        token,
        subscriber,
        webhook,
    ]
)
def main() -> None:
    """Broadsheet: a feed publisher."""
