"""The metrics of a role's processes (:mod:`app.metrics`), as the role's starter arranges
them: the multi-process directory, and the listener of ``metrics.port``.

``broadsheet web`` and ``serve`` start their servers (and ``serve`` its scheduler) with
``PROMETHEUS_MULTIPROC_DIR`` set, so that every worker writes its counts where any
process can sum them. The directory is this run's: a new one in the temporary directory,
removed when the role stops; or the one the operator names in ``PROMETHEUS_MULTIPROC_DIR``
(a tmpfs, say), whose count files (``*.db``) are deleted at start, so that a run never adds
the counts of the one before. Counters of a worker that dies stay, as a counter must:
the server that replaces it counts on in files of its own. gunicorn tells its master of
each worker's death (``child_exit``, :mod:`app.gunicorn_hooks`), which marks it dead for
prometheus_client; granian has no such hook, and needs none, since no worker keeps a live
gauge (the gauges are read from the database when scraped).

With ``metrics.port`` the starter serves ``/metrics`` itself, on a listener of its own
(``metrics.host``, 127.0.0.1 by default): the sum of every process's counts and the
database's gauges, behind ``metrics.token`` when that is set too. A ``scheduler`` run on its
own (not by ``serve``) serves its render metrics there alone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable
from collections.abc import Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler
from wsgiref.simple_server import WSGIServer
from wsgiref.simple_server import make_server

import click

from app.metrics import MULTIPROC_VARIABLE
from app.metrics import Exposition
from app.metrics import ServiceCollector
from app.services import Services

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIEnvironment


@contextlib.contextmanager
def role_metrics(services: Services, gauges: bool = True) -> Iterator[None]:
    """While the block runs (the role's servers as children of this process): the
    multi-process directory set in this process's environment, for the children to
    inherit, and the ``metrics.port`` listener, serving every child's counts and, with
    ``gauges``, the database's. Nothing when metrics are off (no token, no port)."""
    settings = services.settings
    if not (settings.metrics_token or settings.metrics_port):
        yield
        return
    with _multiprocess_directory():
        listener = None
        if settings.metrics_port:
            collectors = [
                ServiceCollector(services.monitoring, services.operations.readiness, services.clock)
            ] if gauges else []  # fmt: skip
            listener = start_listener(services, Exposition(collectors, settings.metrics_token))
        try:
            yield
        finally:
            if listener is not None:
                listener.shutdown()
                listener.server_close()


def scheduler_metrics(services: Services) -> contextlib.AbstractContextManager[Any]:
    """The ``metrics.port`` listener of a scheduler run on its own: its render metrics.
    A scheduler started with ``PROMETHEUS_MULTIPROC_DIR`` set (by ``serve``) writes its
    counts there, and whoever set it serves them."""
    settings = services.settings
    if os.environ.get(MULTIPROC_VARIABLE) or not settings.metrics_port:
        return contextlib.nullcontext()
    listener = start_listener(services, Exposition((), settings.metrics_token))

    @contextlib.contextmanager
    def running() -> Iterator[None]:
        try:
            yield
        finally:
            listener.shutdown()
            listener.server_close()

    return running()


@contextlib.contextmanager
def _multiprocess_directory() -> Iterator[Path]:
    named = os.environ.get(MULTIPROC_VARIABLE)
    if named:
        directory = Path(named)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for stale in directory.glob("*.db"):
                stale.unlink()
        except OSError as error:
            raise click.ClickException(
                f"cannot prepare {MULTIPROC_VARIABLE}={named} for the metrics: {error}"
            ) from None
        yield directory
        return
    directory = Path(tempfile.mkdtemp(prefix="broadsheet-metrics-"))
    os.environ[MULTIPROC_VARIABLE] = str(directory)
    try:
        yield directory
    finally:
        os.environ.pop(MULTIPROC_VARIABLE, None)
        shutil.rmtree(directory, ignore_errors=True)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No line per scrape: a scraper calls every few seconds."""


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def start_listener(services: Services, exposition: Exposition) -> WSGIServer:
    """Serve ``/metrics`` (only) on ``metrics.host``:``metrics.port`` in a thread.

    Raises:
        click.ClickException: the address cannot be listened on (in use, not local).
    """
    settings = services.settings

    def answer(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        if environ.get("PATH_INFO") != "/metrics" or method not in ("GET", "HEAD"):
            return _text(start_response, "404 Not Found", "This listener serves GET /metrics.")
        if not exposition.allows(environ.get("HTTP_AUTHORIZATION")):
            return _text(
                start_response,
                "401 Unauthorized",
                "The metrics need the token: Authorization: Bearer <metrics.token>.",
                [("WWW-Authenticate", 'Bearer realm="metrics"')],
            )
        body, media_type = exposition.render(environ.get("HTTP_ACCEPT"))
        start_response(
            "200 OK",
            [
                ("Content-Type", media_type),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [body] if method == "GET" else []

    try:
        server = make_server(
            settings.metrics_host,
            settings.metrics_port,
            answer,
            server_class=_ThreadingServer,
            handler_class=_QuietHandler,
        )
    except OSError as error:
        raise click.ClickException(
            f"cannot serve the metrics on {settings.metrics_host}:{settings.metrics_port} "
            f"(settings metrics_host, metrics_port): {error}"
        ) from None
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.5}, name="metrics", daemon=True
    ).start()
    return server


def _text(
    start_response: StartResponse,
    status: str,
    text: str,
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    body = f"{text}\n".encode()
    start_response(
        status,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *(headers or []),
        ],
    )
    return [body]
