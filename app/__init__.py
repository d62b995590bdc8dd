"""Broadsheet: a feed publisher.

The package's core (the use cases, storage, rendering, the domain) loads no web framework:
the web role is built by :func:`app.web.application.create_app`, the scheduler and the CLI
by :func:`app.services.build_services`. Nothing runs at import time.
"""
