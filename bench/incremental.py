"""Target 3, one write: an article written through the API re-renders its own feeds, and
only those, quickly.

How: ``bench/incremental_pass.py`` runs in a process of its own with the service's
environment (no scheduler running): it POSTs each article, then times the render passes
that follow through the service's own use case, and prints one JSON line a write (with
progress lines while a pass runs, so a pass stopped half-way still tells which feeds were
done). Goal: at most 100 ms a write, rendering its own feeds and no other.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

from bench.procs import REPO
from bench.procs import BenchError
from bench.procs import Child
from bench.results import TargetTable
from bench.site import Profile
from bench.site import Report
from bench.site import Site

INCREMENTAL_TARGET_MS = 100.0
NAME = "3 one write re-renders only its feeds"


def incremental(site: Site) -> None:
    """Run the writes in their process within the budget, and read what it printed."""
    profile = site.profile
    first = site.extra_cursor
    site.extra_cursor += profile.incremental_writes
    argv = [sys.executable, "-m", "bench.incremental_pass"]
    argv += ["--base-url", site.service.base_url, "--token", site.token]
    argv += ["--corpus", str(site.corpus_path), "--skip", str(first)]
    argv += ["--count", str(profile.incremental_writes)]
    argv += ["--budget", str(profile.incremental_budget)]
    child = Child(
        "bench.incremental_pass", argv, site.root / "incremental.log", site.service.env, REPO
    )
    stopped = False
    try:
        child.process.wait(timeout=profile.incremental_budget + 20)
    except subprocess.TimeoutExpired:
        stopped = True
    child.stop()
    read_samples(site, child.log_path.read_text(errors="replace"))
    if stopped:
        site.report.incremental_stopped = profile.incremental_budget + 20
        site.report.notes.append(
            f"the incremental measurement was stopped after "
            f"{profile.incremental_budget + 20:.0f} s, in the middle of a render pass"
        )
    if not site.report.incremental and not stopped:
        raise BenchError(f"no incremental sample:\n{child.tail()}")


def read_samples(site: Site, output: str) -> None:
    """The samples of the writes measured, and for a write whose render was stopped,
    which of its feeds were done, and when."""
    expecting: list[str] = []
    progress: dict[str, float] = {}
    for line in output.splitlines():
        if not line.startswith("{"):
            continue
        sample = json.loads(line)
        if "error" in sample:
            raise BenchError(sample["error"])
        if "expecting" in sample:
            expecting, progress = sample["expecting"], {}
        elif "progress" in sample:
            progress[sample["progress"]] = sample["ms"]
        else:
            site.report.incremental.append(sample)
            expecting, progress = [], {}
            site.log(
                f"one write: {sample['ms']:.0f} ms in {sample.get('passes', 1)} pass(es), "
                f"{sample['scopes']} scopes rendered (its own: {sample['expected']}; "
                f"extra: {len(sample['extra'])}; missing: {len(sample['missing'])})"
            )
    if expecting:
        not_done = sorted(set(expecting) - set(progress))
        site.report.incremental_partial = {"done": progress, "not_done": not_done}
        site.log(f"stopped write: done {progress}, not done {not_done}")


def rows(report: Report, _profile: Profile, table: TargetTable) -> None:
    if report.incremental:
        samples = report.incremental
        worst = max(sample["ms"] for sample in samples)
        only_own = all(not sample["extra"] and not sample["missing"] for sample in samples)
        scopes = statistics.median(sample["scopes"] for sample in samples)
        table.target(
            NAME,
            f"max {worst:,.0f} ms (n={len(samples)}, {scopes:.0f} scopes, "
            f"{'only its own' if only_own else 'NOT only its own'})",
            "<= 100 ms",
            worst <= INCREMENTAL_TARGET_MS and only_own,
        )
    elif report.incremental_stopped is not None:
        partial = report.incremental_partial
        done = partial.get("done", {})
        waiting = partial.get("not_done", [])
        detail = (
            f"{len(done)} feeds done by {max(done.values(), default=0):,.0f} ms" if done else ""
        )
        if waiting:
            detail += f"; not {', '.join(waiting)[:40]}"
        table.target(
            NAME,
            f"> {report.incremental_stopped:.0f} s (stopped){'; ' + detail if detail else ''}",
            "<= 100 ms",
            False,
        )
    else:
        table.target(NAME, "not measured", "<= 100 ms", None)
