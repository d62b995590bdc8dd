"""Every request observed, those the feed fast path answers before Flask included: a request
id, one log line, and its count in the metrics; and ``/metrics`` itself.

:class:`RequestObserver` is the outermost WSGI layer of the app (inside ``ProxyFix``). It
takes the request id from ``X-Request-ID`` when that is sane (1 to 200 visible ASCII
characters: an id a proxy or a client made, kept so that their logs and ours meet) or
makes one (64 random bits, hex), echoes it in the response's ``X-Request-ID``, and gives it to
every log line made while the request is handled (:data:`app.logs.LOG_CONTEXT`). When
the request is answered it logs one line at INFO (``log_requests``): method, path (a
private feed's key redacted, as in every log line), status and duration in ms; in JSON
the request id, the route, the status and ``duration_ms`` are fields of their own.

The route is the URL rule that answered (``/category/<value>/feed.<fmt>``), set by Flask
once it has routed the request (:func:`_note_route`), or found once per path in the same
URL map for a request the fast path answered; a request no rule matched is
``<unmatched>``. Metrics count by route, never by path.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING
from typing import Any

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound
from werkzeug.exceptions import Unauthorized

from app.logs import LOG_CONTEXT
from app.metrics import UNMATCHED
from app.metrics import Exposition
from app.metrics import RequestCounter
from app.metrics import ServiceCollector

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment

    from app.services import Services

log = logging.getLogger("app.requests")

blueprint = Blueprint("metrics", __name__)

#: The WSGI environ key of the route that answered (set by Flask's routing).
ROUTE = "broadsheet.route"
_EXTENSION = "broadsheet_metrics"
_SANE_ID = re.compile(r"[\x21-\x7e]{1,200}")
_PATHS_REMEMBERED = 100_000


def install_observer(app: Flask, services: Services) -> None:
    """Wrap ``app`` in its :class:`RequestObserver`, and serve ``/metrics`` when the
    settings ask for it on this port (``metrics_token`` without ``metrics_port``).

    Call it after every other layer of :func:`app.web.register_web`: it must see the
    request first and the answer last.
    """
    settings = services.settings
    enabled = bool(settings.metrics_token or settings.metrics_port)
    if settings.metrics_token and not settings.metrics_port:
        app.extensions[_EXTENSION] = Exposition(
            [ServiceCollector(services.monitoring, services.operations.readiness, services.clock)],
            settings.metrics_token,
        )
    app.url_value_preprocessor(_note_route)
    app.register_blueprint(blueprint)
    app.wsgi_app = RequestObserver(  # type: ignore[method-assign]
        app.wsgi_app, app, RequestCounter() if enabled else None, settings.log_requests
    )


def _note_route(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Once Flask has routed the request: its route, for the metrics and the log lines."""
    rule = request.url_rule
    route = rule.rule if rule is not None else UNMATCHED
    request.environ[ROUTE] = route
    context = LOG_CONTEXT.get()
    if context is not None:
        context["route"] = route


@blueprint.get("/metrics")
def metrics() -> Response:
    """The metrics in the Prometheus text format (or OpenMetrics, if asked for); 404 when
    this port does not serve them, 401 without the right ``Authorization: Bearer``."""
    exposition: Exposition | None = current_app.extensions.get(_EXTENSION)
    if exposition is None:
        raise NotFound()
    if not exposition.allows(request.headers.get("Authorization")):
        raise Unauthorized(
            "The metrics need the token: Authorization: Bearer <metrics.token>.",
            www_authenticate=WWWAuthenticate("Bearer", {"realm": "metrics"}),
        )
    body, media_type = exposition.render(request.headers.get("Accept"))
    return Response(body, content_type=media_type, headers={"Cache-Control": "no-store"})


class RequestObserver:
    """WSGI middleware: request ids, a log line and the metrics of every request."""

    def __init__(
        self,
        app: WSGIApplication,
        flask_app: Flask,
        counter: RequestCounter | None,
        log_requests: bool,
    ) -> None:
        self._app = app
        self._urls = flask_app.url_map
        self._counter = counter
        self._log_requests = log_requests
        self._routes: dict[tuple[str, str], str] = {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        given = environ.get("HTTP_X_REQUEST_ID")
        # 64 random bits: unique enough to join log lines, a fifth of uuid4's cost.
        request_id = given if given and _SANE_ID.fullmatch(given) else os.urandom(8).hex()
        answer: list[Any] = []

        def respond(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers.append(("X-Request-ID", request_id))
            answer[:] = (status, headers)
            return start_response(status, headers, exc_info)

        token = LOG_CONTEXT.set({"request_id": request_id})
        try:
            body = self._app(environ, respond)
        except BaseException:
            self._answered(environ, request_id, started, "500", [], None)
            raise
        else:
            status, headers = answer or ("200", [])
            self._answered(environ, request_id, started, status, headers, body)
        finally:
            LOG_CONTEXT.reset(token)
        return body

    def _answered(
        self,
        environ: WSGIEnvironment,
        request_id: str,
        started: float,
        status: str,
        headers: list[tuple[str, str]],
        body: Iterable[bytes] | None,
    ) -> None:
        """Count and log a request once its answer is known."""
        if self._counter is None and not (self._log_requests and log.isEnabledFor(logging.INFO)):
            return
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        route = environ.get(ROUTE) or self._route(path, method)
        code = int(status[:3])
        if self._counter is not None:
            self._counter.record(route, method, code, _body_size(method, headers, body))
        if self._log_requests and log.isEnabledFor(logging.INFO):
            duration = round((time.perf_counter() - started) * 1000, 3)
            # The record made directly, its message formatted once: logging's search of
            # the stack for the caller (findCaller) and a second formatting would cost
            # about as much as the rest of a fast-path answer.
            record = log.makeRecord(
                log.name,
                logging.INFO,
                __file__,
                0,
                f"{method} {path} {code} {duration:.1f} ms id={request_id}",
                (),
                None,
                extra={"method": method, "route": route, "status": code, "duration_ms": duration},
            )
            log.handle(record)

    def _route(self, path: str, method: str) -> str:
        """The rule of a path answered before Flask (the fast path's feeds and sitemaps),
        found in Flask's URL map once and remembered."""
        key = (path, method)
        route = self._routes.get(key)
        if route is None:
            try:
                rule, _ = self._urls.bind("localhost").match(path, method, return_rule=True)
                route = rule.rule
            except HTTPException:
                route = UNMATCHED
            if len(self._routes) < _PATHS_REMEMBERED:
                self._routes[key] = route
        return route


def _body_size(method: str, headers: list[tuple[str, str]], body: Iterable[bytes] | None) -> int:
    """The bytes of a response body: counted when it is a list (the fast path's), else
    its Content-Length; a HEAD sends none."""
    if method == "HEAD" or body is None:
        return 0
    if isinstance(body, list):
        return sum(len(chunk) for chunk in body)
    for name, value in headers:
        if name.lower() == "content-length":
            return int(value) if value.isdigit() else 0
    return 0
