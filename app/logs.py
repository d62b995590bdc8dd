"""Logging set-up: text for people, JSON lines for log collectors."""

from __future__ import annotations

import json
import logging
from datetime import UTC
from datetime import datetime
from typing import Any

from app.private_feeds import redact_feed_keys
from app.settings import Settings


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and any exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
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
