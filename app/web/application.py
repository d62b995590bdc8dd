"""The web role's composition root: :func:`create_app` builds the Flask app from settings,
as :func:`app.services.build_services` wires the same objects for the scheduler and the
CLI. Nothing runs at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

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
    app = Flask("app.web", template_folder="templates", static_folder="static")
    register_web(app, services)
    if services.settings.server_trusted_proxies:
        # Outermost, so that every layer (the feed fast path, the politeness limiter, the
        # API's failed-authentication limiter, the logs) sees the client's address, not
        # the proxy's: otherwise every client behind the proxy would share one budget.
        # Only the last N X-Forwarded-For entries are trusted (the ones our proxies wrote;
        # a client can put anything before them).
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=services.settings.server_trusted_proxies
        )
    return app


def close_app(app: Flask) -> None:
    """Stop what :func:`create_app` started in the background and close the database
    connections: for a process that builds several apps (tests, tools); a server's app
    lives as long as its process."""
    app.extensions["broadsheet_feeds"].close()
    app.extensions["broadsheet_polls"].recorder.close()
    app.extensions["broadsheet"].database.dispose()
