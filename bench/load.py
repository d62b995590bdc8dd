"""Target 5, bulk import, and the corpus every other benchmark of ``bench.run`` needs.

How: the corpus file is piped into ``broadsheet import -`` for as long as the budget lasts
(through the API with 4 clients if the service has no import command); the rate is the
articles it stored over the seconds it ran. What did not fit the budget is written
straight into the database (``bench/topup.py``, a fixture, not a measurement), and the
report says so. Goal: at least 2,000 articles a second.
"""

from __future__ import annotations

import re
import subprocess
import time
from itertools import islice

from bench import scaling
from bench.procs import REPO
from bench.procs import BenchError
from bench.procs import Child
from bench.results import TargetTable
from bench.service import broadsheet_executable
from bench.service import post_articles
from bench.service import read_lines
from bench.site import Profile
from bench.site import Report
from bench.site import Site

IMPORT_TARGET = 2000.0


def load(site: Site) -> None:
    """Store the corpus: import it within the budget, then top up the rest."""
    profile = site.profile
    count = profile.articles
    if site.service.has_command("import"):
        method = "broadsheet import"
        imported, sent, seconds = import_stream(site, count, profile.load_budget)
    else:
        method = "API, 4 clients (no import command)"
        site.report.notes.append("no `broadsheet import`: the corpus went through the API")
        result = post_articles(
            site.service.base_url,
            site.token,
            read_lines(site.corpus_path, count),
            clients=4,
            time_limit=profile.load_budget,
        )
        imported, seconds = result.created, result.seconds
        sent = result.created + result.failed
    rate = imported / seconds if seconds else 0.0
    site.report.load = {
        "method": method,
        "imported": imported,
        "seconds": round(seconds, 1),
        "rate": round(rate),
    }
    site.log(f"{method}: {imported:,} articles in {seconds:.1f} s = {rate:,.0f}/s")
    if sent < count:
        top_up(site, sent, method, imported)
    scaling.wait_growing(site)
    stored = site.count("SELECT count(*) FROM articles WHERE deleted_at IS NULL")
    scopes = site.count("SELECT count(*) FROM feed_states")
    site.report.load["stored"] = stored
    site.report.load["scopes"] = scopes
    site.log(f"stored: {stored:,} articles, {scopes:,} feed scopes")


def top_up(site: Site, sent: int, method: str, imported: int) -> None:
    """Write the corpus lines from ``sent`` on straight into the database (meanwhile the
    PostgreSQL corpus grows: nothing is measured)."""
    from bench.topup import top_up as write_rows

    profile = site.profile
    count = profile.articles
    scaling.start_growing(site)
    site.log(f"topping up {count - sent:,} articles straight into the database...")
    topped = write_rows(
        site.service.database_url,
        site.corpus_path,
        sent,
        count,
        site.service.base_url,
        "127.0.0.1",
        profile.item_limit,
    )
    site.report.load["topped_up"] = count - sent
    site.report.load["topup_seconds"] = round(topped, 1)
    site.report.notes.append(
        f"{method} stored {imported:,} articles in its {profile.load_budget:.0f} s "
        f"budget; the other {count - sent:,} were written straight into the database "
        "(bench/topup.py) so that the other figures are at the full corpus"
    )


def import_stream(site: Site, count: int, budget: float) -> tuple[int, int, float]:
    """Pipe ``count`` corpus lines into ``broadsheet import -`` until ``budget`` seconds
    have passed: the articles it imported, the lines sent, and the seconds it took."""
    log = site.root / "import.log"
    started = time.perf_counter()
    deadline = started + budget
    sent = 0
    with log.open("ab") as err:
        process = subprocess.Popen(
            [broadsheet_executable(), "import", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            env=site.service.env,
            cwd=REPO,
            start_new_session=True,
        )
        child = Child.adopt("broadsheet import", process, log)
        assert process.stdin is not None and process.stdout is not None
        try:
            with site.corpus_path.open("rb") as source:
                for line in islice(source, count):
                    if time.perf_counter() > deadline:
                        break
                    process.stdin.write(line)
                    sent += 1
            process.stdin.close()
        except BrokenPipeError:
            pass
        try:
            process.wait(timeout=max(60.0, budget))
        except subprocess.TimeoutExpired:
            child.stop()
            raise BenchError("broadsheet import did not finish after its input ended") from None
        out = process.stdout.read()
        child.stop()
    seconds = time.perf_counter() - started
    if process.returncode not in (0, 1):
        raise BenchError(f"broadsheet import exited {process.returncode}:\n{child.tail()}")
    imported = imported_count(out.decode("utf-8", errors="replace"))
    if imported < sent:
        site.report.notes.append(f"broadsheet import skipped {sent - imported} lines")
    return imported, sent, seconds


def imported_count(output: str) -> int:
    """The N of "N imported, M already imported, ..." in ``broadsheet import``'s summary."""
    imported = 0
    for line in output.splitlines():
        counted = re.match(r"(\d+) imported, ", line)
        if counted is not None:
            imported = int(counted.group(1))
    return imported


def rows(report: Report, _profile: Profile, table: TargetTable) -> None:
    load = report.load
    if load:
        table.target(
            f"5 bulk import ({load.get('method', '?')[:17]})",
            f"{load.get('rate', 0):,}/s ({load.get('imported', 0):,} in {load.get('seconds')} s)",
            ">= 2,000/s",
            load.get("rate", 0) >= IMPORT_TARGET,
        )
