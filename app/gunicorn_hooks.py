"""gunicorn's server hooks for the web role (``--config python:app.gunicorn_hooks``, added
by ``broadsheet web``), run in gunicorn's master process."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import multiprocess


def child_exit(server: Any, worker: Any) -> None:
    """A worker has exited: tell prometheus_client's multi-process mode, which drops the
    live gauges of that process (its counters stay, as counters must)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
