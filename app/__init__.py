"""Broadsheet: a feed publisher.

:func:`create_app` builds the web role; :func:`app.services.build_services` wires the same
objects for the scheduler and the CLI. Nothing runs at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from app.clock import Clock
from app.clock import system_clock
from app.logs import configure_logging
from app.services import build_services
from app.web import register_web


def create_app(
    overrides: Mapping[str, Any] | None = None,
    clock: Clock = system_clock,
    environ: Mapping[str, str] | None = None,
) -> Flask:
    """Build the web application (pages, feeds, API) from settings.

    Raises:
        SettingsError: a setting is invalid; the message names it.
    """
    services = build_services(overrides, clock, environ)
    configure_logging(services.settings)
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    register_web(app, services)
    return app
