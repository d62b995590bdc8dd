"""The scratch site every benchmark of ``bench.run`` works on, and what they report.

:class:`Site` holds one run's sizes and budgets (:class:`Profile`), its scratch directory,
the service under test (web role, scheduler, SQLite file), the API token, the corpus and
its unused lines, and the :class:`Report` each benchmark fills in. Its :meth:`Site.phase`
runs one benchmark: a benchmark that breaks is reported and the others still run.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import traceback
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from bench import corpus as corpus_module
from bench.machine import command_line
from bench.machine import machine_facts
from bench.procs import REPO
from bench.procs import ensure_tools
from bench.procs import stop_all
from bench.results import OUT
from bench.results import Stopwatch
from bench.service import IngestResult
from bench.service import Service
from bench.service import read_lines

if TYPE_CHECKING:
    from bench.hot import HotCase
    from bench.publish_latency import PublishResult
    from bench.scaling import Scaling
    from bench.static import StaticServer


@dataclass(frozen=True)
class Profile:
    """Sizes and time budgets (seconds) of one kind of run."""

    name: str
    articles: int
    extra: int
    item_limit: int
    wrk_seconds: float
    rounds: int
    warmup: bool
    load_budget: float
    rebuild_budget: float
    incremental_writes: int
    incremental_budget: float
    settle_budget: float
    sweep_budget: float
    publish_samples: int
    publish_wait: float
    publish_budget: float
    api_articles: int
    api_budget: float
    pg_small: int
    pg_large: int
    pg_budget: float
    pg_repeats: int


@dataclass
class Report:
    """Everything measured, for the table and the JSON file."""

    profile: str
    started: str
    machine: dict[str, str] = field(default_factory=dict)
    corpus: dict[str, Any] = field(default_factory=dict)
    load: dict[str, Any] = field(default_factory=dict)
    rebuild: dict[str, Any] = field(default_factory=dict)
    incremental: list[dict[str, Any]] = field(default_factory=list)
    incremental_stopped: float | None = None
    incremental_partial: dict[str, Any] = field(default_factory=dict)
    scheduler: str = ""
    feed: dict[str, Any] = field(default_factory=dict)
    hot: list[HotCase] = field(default_factory=list)
    sweep: dict[str, Any] = field(default_factory=dict)
    memory: list[dict[str, Any]] = field(default_factory=list)
    publish: PublishResult | None = None
    publish_rebuild: PublishResult | None = None
    rebuild_pending: dict[str, int] = field(default_factory=dict)
    restart: dict[str, Any] = field(default_factory=dict)
    api: IngestResult | None = None
    api_alone: IngestResult | None = None
    scaling: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Site:
    """One benchmark run: the profile, the scratch directory, the service, the report."""

    def __init__(self, profile: Profile, keep: bool) -> None:
        self.profile = profile
        self.keep = keep
        self.clock = Stopwatch()
        self.root = Path(tempfile.mkdtemp(prefix="broadsheet-bench-"))
        self.root.chmod(0o755)  # nginx's workers (an unprivileged user) read files below
        self.report = Report(profile.name, datetime.now(UTC).isoformat(timespec="seconds"))
        self.corpus_path = OUT / f"corpus-{profile.articles}+{profile.extra}.jsonl"
        settings = {
            "BROADSHEET_FEED_ITEM_LIMIT": str(profile.item_limit),
            # The safety-net pass re-renders every feed; the rebuild is measured on its own
            # (target 3), and during the load tests it would only add noise.
            "BROADSHEET_FEED_REGENERATE_SECONDS": "86400",
        }
        self.service = Service(
            self.root, f"sqlite:///{self.root / 'broadsheet.db'}", settings=settings
        )
        self.token = ""
        self.nginx: StaticServer | None = None
        self.scaling_job: Scaling | None = None
        self.grower: threading.Thread | None = None
        self.extra_cursor = profile.articles

    def log(self, message: str) -> None:
        self.clock.log(message)

    def phase(self, name: str, action: Callable[[Site], None]) -> None:
        """Run one benchmark; if it breaks, say so in the report and go on."""
        self.log(f"== {name}")
        try:
            self.check_web(name)
            action(self)
        except Exception as error:  # a phase that breaks is reported; the others still run
            self.report.errors.append(f"{name}: {error}")
            self.log(f"!! {name} failed: {error}")
            traceback.print_exc()

    def check_web(self, phase: str) -> None:
        """A web role that died is an error of the run; restart it so the rest can go on."""
        web = self.service.web
        if web is None or web.alive():
            return
        code = web.process.returncode
        self.report.errors.append(
            f"the web role exited (code {code}) before '{phase}'; restarted: {web.tail(5)}"
        )
        self.log(f"!! the web role exited with code {code}; restarting it")
        web.stop()
        self.service.start_web()

    def extra_lines(self, count: int) -> Iterator[dict[str, Any]]:
        """Corpus lines after the loaded ones, each used once (API, publish, writes)."""
        first = self.extra_cursor
        count = min(count, self.profile.articles + self.profile.extra - first)
        self.extra_cursor += count
        return read_lines(self.corpus_path, count, skip=first)

    def count(self, sql: str) -> int:
        """The one number a ``SELECT count(*)`` answers."""
        return int(self.service.query(sql)[0][0])

    def dirty_count(self) -> int:
        """Feeds waiting for a render: unrendered writes, or a rebuild asked for."""
        return self.count(
            "SELECT count(*) FROM feed_states "
            "WHERE dirty_version > rendered_version OR stale_since IS NOT NULL"
        )

    def setup(self) -> None:
        """The tools, the corpus file (reused for the rest of the UTC day), the migrated
        database, the web role and an API token."""
        ensure_tools({"wrk": "wrk", "nginx": "nginx"})
        self.report.machine = machine_facts()
        OUT.mkdir(parents=True, exist_ok=True)
        total = self.profile.articles + self.profile.extra
        written = corpus_module.write_jsonl(
            self.corpus_path, total, reuse=True, spread=self.profile.articles
        )
        self.report.corpus = {
            "articles": self.profile.articles,
            "file": str(written.path.relative_to(REPO)),
            "megabytes": round(written.size_bytes / 1e6, 1),
            "generated_seconds": round(written.seconds, 1),
            "reused": written.cached,
        }
        self.log(
            f"corpus: {total:,} lines, {written.size_bytes / 1e6:.0f} MB "
            f"({'reused' if written.cached else f'{written.seconds:.1f} s'})"
        )
        self.service.cli("migrate")
        self.service.start_web()
        self.token = self.service.create_token()
        self.report.machine["web"] = command_line(self.service.web.pid) if self.service.web else ""

    def finish(self) -> None:
        """Stop every process; drop the scratch directory unless asked to keep it."""
        if self.nginx is not None:
            self.nginx.stop()
        self.service.stop()
        stop_all()
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)
        else:
            self.report.notes.append(f"scratch directory kept: {self.root}")
