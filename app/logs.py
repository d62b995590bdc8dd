"""Logging set-up: text for people, JSON lines for log collectors."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC
from datetime import datetime
from typing import Any

from app.private_feeds import redact_feed_keys
from app.settings import Settings

#: What the request or scheduler job being handled adds to every log line made meanwhile
#: (JSON lines): ``request_id`` and ``route`` in a request (:mod:`app.web.observe`),
#: ``job`` and ``job_run_id`` in a job (:func:`job_context`). A context variable, so each
#: thread (a server's request thread, a scheduler's job thread) sees its own.
LOG_CONTEXT: ContextVar[dict[str, str] | None] = ContextVar("broadsheet_log", default=None)
#: Fields a record may carry (``extra=``) that its JSON line adds: those of a request's line.
RECORD_FIELDS = ("request_id", "method", "route", "status", "duration_ms")


@contextmanager
def job_context(job: str) -> Iterator[str]:
    """Give every log line of one run of ``job`` the job's name and a new run id (yielded)."""
    run_id = uuid.uuid4().hex
    token = LOG_CONTEXT.set({"job": job, "job_run_id": run_id})
    try:
        yield run_id
    finally:
        LOG_CONTEXT.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and any exception; the request's
    or job's fields (:data:`LOG_CONTEXT`) and the record's own (:data:`RECORD_FIELDS`)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(LOG_CONTEXT.get() or {})
        for name in RECORD_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        for name, value in entry.items():
            if isinstance(value, str) and name != "message":
                # A client's X-Request-ID could carry a feed key: no key reaches a log.
                entry[name] = redact_feed_keys(value)
        if record.exc_info:
            # The text the record factory redacted, if it did.
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    """Send logs to stderr in the configured format, unless the host already set logging up.

    Gunicorn and pytest install their own handlers on the root logger; then only the level
    of Broadsheet's loggers is set.
    """
    redact_private_feed_keys()
    logging.getLogger("app").setLevel(settings.log_level.upper())
    # APScheduler warns at every tick skipped while a render is still running; with a
    # sub-second poll that is noise, not news (the render itself logs what it did).
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def redact_private_feed_keys() -> None:
    """Hide private feed keys (``/private/<key>/...``) in every log record made in this
    process from now on, whoever logs it: Broadsheet, Flask's unhandled-error line, the
    access logs of Werkzeug's server, gunicorn (``gunicorn.access``) and granian, in the
    message and in the traceback. A key in a log would open the feed to whoever reads
    the logs. Installed once; a record factory, unlike a filter, reaches every logger and
    handler, including those set up after it."""
    current = logging.getLogRecordFactory()
    if getattr(current, "redacts_feed_keys", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it when it formats
            return record
        redacted = redact_feed_keys(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[0] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if redact_feed_keys(text) != text:
                record.exc_text = redact_feed_keys(text)
        return record

    factory.redacts_feed_keys = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
