"""Logging set-up: text for people, JSON lines for log collectors."""

from __future__ import annotations

import json
import logging
from datetime import UTC
from datetime import datetime

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
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    """Send logs to stderr in the configured format, unless the host already set logging up.

    Gunicorn and pytest install their own handlers on the root logger; then only the level
    of Broadsheet's loggers is set.
    """
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
