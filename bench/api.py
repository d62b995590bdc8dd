"""Target 5, the JSON API: articles published now, POSTed from one keep-alive client.

How: ``POST /api/v1/articles`` with corpus lines (``published_at`` set to now) for a fixed
time, first with the scheduler rendering what they make stale (as deployed), then with
the scheduler stopped; the rate is the articles created over the seconds taken.
Goal: at least 300 articles a second, none failed.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from bench.results import TargetTable
from bench.service import post_articles
from bench.site import Profile
from bench.site import Report
from bench.site import Site

API_TARGET = 300.0


def api(site: Site) -> None:
    """Both series; the scheduler is stopped between them, for good."""
    service = site.service
    for label in ("with the scheduler", "scheduler stopped"):
        if label == "scheduler stopped" and service.scheduler is not None:
            service.scheduler.stop()
            service.scheduler = None
        lines = (
            line | {"published_at": datetime.now(UTC).isoformat()}
            for line in site.extra_lines(site.profile.api_articles)
        )
        result = post_articles(
            service.base_url,
            site.token,
            lines,
            clients=1,
            time_limit=site.profile.api_budget,
            request_timeout=10,
        )
        if label == "with the scheduler":
            site.report.api = result
        else:
            site.report.api_alone = result
        site.log(
            f"API ({label}): {result.created} articles in {result.seconds:.1f} s = "
            f"{result.rate:.0f}/s, {result.failed} failed {result.first_error[:200]}"
        )
        if result.failed:
            # The service's answer, not the script's failure: reported in the table.
            site.report.notes.append(
                f"API ({label}): {result.failed} writes failed, first: {result.first_error[:160]}"
            )


def rows(report: Report, _profile: Profile, table: TargetTable) -> None:
    for result, label in ((report.api, "with scheduler"), (report.api_alone, "scheduler off")):
        if result is not None:
            table.target(
                f"5 JSON API, one client ({label})",
                f"{result.rate:,.0f}/s ({result.created} in {result.seconds:.1f} s, "
                f"{result.failed} failed)",
                ">= 300/s",
                result.rate >= API_TARGET and not result.failed,
            )
