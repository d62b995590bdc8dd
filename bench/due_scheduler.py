"""The service's own scheduler without its start-up rebuild and its periodic safety net.

Used only when a full rebuild does not fit the benchmark's time budget: the real
``broadsheet scheduler`` starts with ``rebuild-if-changed``, which re-renders every feed,
archive pages included, unless a scheduler of this version and these settings rendered
them (so always on the benchmark's fresh site), and would hold the database's write lock
and both cores for the rest of the run. Every other job
(rendering stale feeds every ``feed.render_poll_seconds``, WebSub delivery) is the
service's, unchanged.
"""

from __future__ import annotations

import contextlib


def main() -> None:
    from app.jobs import REBUILD_AT_START_JOB
    from app.jobs import RENDER_ALL_JOB
    from app.jobs import build_scheduler
    from app.logs import configure_logging
    from app.services import build_services

    services = build_services()
    configure_logging(services.settings)
    scheduler = build_scheduler(services)
    scheduler.remove_job(RENDER_ALL_JOB)
    scheduler.remove_job(REBUILD_AT_START_JOB)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()


if __name__ == "__main__":
    main()
