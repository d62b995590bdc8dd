"""How every benchmark reports: a progress log on stderr, a table of fixed-width columns
on stdout, verdicts and percentiles computed one way, and the same saved under
``bench/out/`` as text and JSON."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from typing import Any

from bench.procs import REPO

OUT = REPO / "bench" / "out"


class Stopwatch:
    """Seconds since the run began, and the progress log that shows them."""

    def __init__(self) -> None:
        self.began = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.began

    def log(self, message: str) -> None:
        print(f"[{self.elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)


class Table:
    """Lines of text, and rows whose cells but the last are padded to ``widths`` and
    joined by ``gap``."""

    def __init__(self, widths: Sequence[int], gap: str = "") -> None:
        self.widths = tuple(widths)
        self.gap = gap
        self.lines: list[str] = []

    def line(self, text: str = "") -> None:
        self.lines.append(text)

    def row(self, *cells: str) -> None:
        padded = [f"{cell:<{width}}" for cell, width in zip(cells[:-1], self.widths, strict=True)]
        self.lines.append(self.gap.join([*padded, cells[-1]]))

    def text(self) -> str:
        return "\n".join(self.lines)


class TargetTable(Table):
    """``bench.run``'s table: a target, what was measured, the goal, and the verdict."""

    def __init__(self) -> None:
        super().__init__((44, 80, 12))

    def target(self, name: str, measured: str, goal: str, ok: bool | None) -> None:
        self.row(name, measured, goal, verdict(ok))


def verdict(ok: bool | None) -> str:
    """PASS, FAIL, or n/a for a figure that was not measured."""
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def seconds(value: float | None) -> str:
    """A duration for the table: "1.23 s", "inf" (never seen) or "-" (none)."""
    if value is None:
        return "-"
    if value == float("inf"):
        return "inf"
    return f"{value:.2f} s"


def nearest_rank(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0.99 for p99); nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))]


def save(kind: str, profile: str, data: dict[str, Any], text: str) -> None:
    """Write ``bench/out/{kind}-{profile}-{UTC time}.json`` and ``.txt``."""
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (OUT / f"{kind}-{profile}-{stamp}.json").write_text(
        json.dumps(data, indent=2, default=str), encoding="utf-8"
    )
    (OUT / f"{kind}-{profile}-{stamp}.txt").write_text(text + "\n", encoding="utf-8")
