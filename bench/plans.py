"""The query plans of target 4 (``bench/scaling.py``): every SQL statement a block of
service code sends, captured, then shown with ``EXPLAIN (ANALYZE, BUFFERS)``; a sequential
scan of a large table, or a sort of many rows, is flagged."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import psycopg
from sqlalchemy import event

from bench.pg_corpus import plain_url

_LARGE_TABLE_ROWS = 10_000


@dataclass
class Plan:
    """One captured statement and its plan."""

    label: str
    sql: str
    plan: str
    seq_scans: list[str] = field(default_factory=list)
    large_sorts: list[int] = field(default_factory=list)
    """Rows fed to each sort of many rows (a feed's newest entries sorted out of a scope,
    not read in index order)."""


@contextmanager
def captured_sql(engine: Any) -> Iterator[list[tuple[str, Any]]]:
    """Every statement (and its parameters) the engine sends inside the block."""
    seen: list[tuple[str, Any]] = []

    def record(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool
    ) -> None:
        # A statement run for many rows is explained with its first.
        seen.append((statement, parameters[0] if many else parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def explain_all(url: str, captured: list[tuple[str, str, Any]]) -> list[Plan]:
    """EXPLAIN (ANALYZE, BUFFERS) each distinct SELECT (plain EXPLAIN for writes, in a
    transaction that is rolled back)."""
    plans: list[Plan] = []
    seen: set[str] = set()
    with psycopg.connect(plain_url(url)) as conn:
        sizes = {
            name: int(rows)
            for name, rows in conn.execute(
                "SELECT relname, reltuples FROM pg_class WHERE relkind = 'r' "
                "AND relnamespace = 'public'::regnamespace"
            )
        }
        for label, sql, params in captured:
            key = re.sub(r"\s+", " ", sql).strip()
            verb = key.split(" ", 1)[0].upper()
            if key in seen or verb not in ("SELECT", "UPDATE", "DELETE", "INSERT", "WITH"):
                continue
            seen.add(key)
            analyze = "ANALYZE, BUFFERS, " if verb in ("SELECT", "WITH") else ""
            rows = conn.execute(f"EXPLAIN ({analyze}COSTS OFF) {sql}", params).fetchall()
            conn.rollback()
            text = "\n".join(row[0] for row in rows)
            scans = [
                table
                for table in re.findall(r"Seq Scan on (\w+)", text)
                if sizes.get(table, 0) >= _LARGE_TABLE_ROWS
            ]
            plans.append(Plan(label, key, text, scans, _large_sorts(text)))
    return plans


_NODE_ROWS = re.compile(r"actual time=\S+ rows=(\d+) loops=(\d+)")


def _large_sorts(plan: str) -> list[int]:
    """The rows each Sort node of an ``EXPLAIN ANALYZE`` reads from its input (the node
    under it), where they are ``_LARGE_TABLE_ROWS`` or more."""
    lines = plan.splitlines()
    found: list[int] = []
    for index, line in enumerate(lines):
        if not re.match(r"\s*(->\s+)?(Incremental )?Sort\s+\(", line):
            continue
        child = next((later for later in lines[index + 1 :] if "->" in later), "")
        match = _NODE_ROWS.search(child)
        if match and int(match[1]) * int(match[2]) >= _LARGE_TABLE_ROWS:
            found.append(int(match[1]) * int(match[2]))
    return found


def plans_text(scaling: dict[str, Any]) -> str:
    """Every plan of target 4 (``Report.scaling``), printed before the table."""
    plans = scaling.get("plans", [])
    if not plans:
        return ""
    lines = [
        "",
        f"Target 4: EXPLAIN (ANALYZE, BUFFERS) of every statement of a site render, a "
        f"category render and two feed reads, at {scaling['large']:,} articles",
    ]
    for plan in plans:
        flag = f"  <-- SEQ SCAN on {', '.join(plan['seq_scans'])}" if plan["seq_scans"] else ""
        if plan["large_sorts"]:
            flag += f"  <-- SORT of {', '.join(f'{n:,}' for n in plan['large_sorts'])} rows"
        sql = plan["sql"] if len(plan["sql"]) < 400 else plan["sql"][:400] + " ..."
        lines += ["", f"-- {plan['label']}{flag}", sql, plan["plan"]]
    return "\n".join(lines)
