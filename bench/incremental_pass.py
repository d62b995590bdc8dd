"""The measuring side of target 3's one write (``bench/incremental.py``): write one article
through the API, then time the render pass that follows it, in this process, through the
service's own use case (what one scheduler tick does). Prints one JSON line per write, as
soon as it is measured, and progress lines while it waits.

Run by bench.run with the service's environment (BROADSHEET_*), the web role up and no
scheduler running, so that the pass renders exactly what the write made stale:
``python -m bench.incremental_pass --base-url URL --token T --corpus FILE --skip N --count K``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.feeds import FORMATS
from bench.feeds import archive_page
from bench.feeds import expected_scopes
from bench.service import api_article
from bench.service import read_lines


class SnapshotWatcher(threading.Thread):
    """Watches the stored feeds of some scopes (their ETags, never their bodies) and prints
    when each scope has new bytes in all three formats, so that a render pass stopped
    half-way still tells which of its feeds were done, and when."""

    def __init__(self, database_url: str, scopes: set[str]) -> None:
        super().__init__(daemon=True)
        from sqlalchemy import create_engine

        self.engine = create_engine(database_url)
        self.keys = {f"{scope}:{fmt}": scope for scope in scopes for fmt in FORMATS}
        self.initial = self._etags()
        self.done: dict[str, float] = {}
        self.started = time.perf_counter()
        self.stopping = threading.Event()

    def _etags(self) -> dict[str, str]:
        from sqlalchemy import bindparam
        from sqlalchemy import text

        query = text("SELECT feed_key, etag FROM feed_snapshots WHERE feed_key IN :keys")
        query = query.bindparams(bindparam("keys", expanding=True))
        with self.engine.connect() as connection:
            rows = connection.execute(query, {"keys": list(self.keys)})
            return {str(key): str(etag) for key, etag in rows}

    def run(self) -> None:
        changed: set[str] = set()
        while not self.stopping.wait(0.02):
            for key, etag in self._etags().items():
                if key not in changed and etag != self.initial.get(key):
                    changed.add(key)
                    scope = self.keys[key]
                    formats = {k for k, s in self.keys.items() if s == scope}
                    if formats <= changed and scope not in self.done:
                        elapsed = (time.perf_counter() - self.started) * 1000
                        self.done[scope] = elapsed
                        print(json.dumps({"progress": scope, "ms": round(elapsed)}), flush=True)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
        self.engine.dispose()


def warm(services: Any, lines: list[dict[str, Any]]) -> None:
    """A running scheduler has rendered these feeds before and keeps their entries: so
    does this process, untimed, before the first write. Whatever else was stale is not
    this benchmark's business either."""
    from app.storage.feeds import FeedStateRepository

    scopes = set().union(*(expected_scopes(api_article(line)) for line in lines))
    with services.database.write() as session:
        FeedStateRepository(session).mark_dirty(scopes)
    services.renderer.render_due_feeds(services.clock())


def measure_write(services: Any, created: dict[str, Any], deadline: float) -> dict[str, Any]:
    """Time the render passes after the write of ``created`` (the API's answer)."""
    # The write marks the archive page the article is numbered on: a no-op render while
    # that page is being filled, the page's document if the article completed it (then
    # watched too).
    found = archive_page(services.database.engine, created["id"])
    expected = expected_scopes(created, found[0] if found else None)
    watched = expected_scopes(created, found[0] if found and found[1] else None)
    print(json.dumps({"expecting": sorted(watched)}), flush=True)
    watcher = SnapshotWatcher(services.settings.database_url, watched)
    watcher.start()
    rendered: set[str] = set()
    changed = passes = 0
    failed: list[str] = []
    elapsed_ms = 0.0
    # "In total": render passes until every feed of the article is rendered (one, unless
    # a pass leaves some for later), at most 5 and within the budget.
    while passes < 5 and not expected <= rendered:
        started = time.perf_counter()
        report = services.renderer.render_due_feeds(services.clock())
        elapsed_ms += (time.perf_counter() - started) * 1000
        passes += 1
        rendered |= set(report.scopes)
        changed += len(report.changed)
        failed += list(report.failed)
        if time.monotonic() > deadline:
            break
    watcher.stop()
    return {
        "ms": round(elapsed_ms, 1),
        "passes": passes,
        "scopes": len(rendered),
        "expected": len(expected),
        "extra": sorted(rendered - expected),
        "missing": sorted(expected - rendered),
        "changed": changed,
        "failed": failed,
        "scope_ms": {k: round(v) for k, v in sorted(watcher.done.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--skip", type=int, default=0)
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--budget", type=float, default=60.0)
    args = parser.parse_args()

    from app.services import build_services

    services = build_services()
    deadline = time.monotonic() + args.budget
    headers = {"Authorization": f"Bearer {args.token}"}
    with httpx.Client(base_url=args.base_url, headers=headers, timeout=60) as client:
        lines = list(read_lines(args.corpus, args.count, skip=args.skip))
        warm(services, lines)
        for line in lines:
            if time.monotonic() > deadline:
                break
            body = api_article(line) | {"published_at": datetime.now(UTC).isoformat()}
            response = client.post("/api/v1/articles", json=body)
            if response.status_code != 201:
                print(json.dumps({"error": f"{response.status_code} {response.text[:300]}"}))
                sys.exit(1)
            print(json.dumps(measure_write(services, response.json(), deadline)), flush=True)
    services.database.dispose()


if __name__ == "__main__":
    main()
