"""The scratch PostgreSQL corpus of target 4 (``bench/scaling.py``), filled in SQL.

A scratch database ``bench_<random>`` is created on the local server (and dropped at the
end), migrated with the service's own migrations, then filled with ``INSERT ... SELECT``
from ``generate_series``: short HTML bodies with a figure, 1-2 authors of 50, 1-2
categories of 200, 2-5 tags of 1,000 with a skewed popularity, publish times over two
years. The articles of each fill get their publication sequence numbers in the same
statement, in date order after the numbers of the fills before (as ``broadsheet import``
numbers a back catalogue fed to it in batches), and the publication counter is moved past
them (page size: the item limit): the site's render passes have nothing to number, so the
site render measured is the steady state, not a one-time numbering.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import psycopg

from bench.corpus_pools import make_pools
from bench.procs import BenchError

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

_FILL_ARTICLES = """
INSERT INTO articles (public_id, slug, title, summary, body, body_format, body_html, excerpt,
    language, image_url, image_type, image_length, image_width, image_height, image_caption,
    image_credit, published_at, created_at, updated_at, deleted_at, revision, sequence)
SELECT 'tag:bench.example.org,2026-01-01:' || g, 'artigo-' || g,
    'Prefeitura anuncia obra ' || g || ' ' || left(md5(g::text), 12),
    'Resumo do artigo ' || g || '.', body, 'html', body, 'Resumo do artigo ' || g || '.',
    CASE WHEN g %% 10 < 7 THEN 'pt-BR' ELSE 'en' END,
    'https://static.example.org/fotos/' || g || '.jpg', 'image/jpeg', 40000 + g %% 300000,
    1200, 675, 'Legenda da foto ' || g, 'Foto: Redação', ts, ts, ts, NULL, 1,
    %(next_sequence)s + row_number() OVER (ORDER BY ts, g) - 1
FROM (
    SELECT g, now() - random() * interval '730 days' - interval '1 minute' AS ts,
        '<p>' || repeat(md5(g::text) || ' obra bairro prefeitura ', 3) || '</p>'
        || '<figure><img src="https://static.example.org/fotos/' || g || '-2.jpg" alt="Foto">'
        || '<figcaption>Moradores na praça <span class="credit">Foto: Ana Souza/Redação'
        || '</span></figcaption></figure><p>' || repeat('Texto do artigo. ', 5) || '</p>'
        AS body
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
) AS s
"""

_NEXT_SEQUENCE = "SELECT next_sequence FROM publication_counter WHERE id = 1"
_ADVANCE_COUNTER = """
INSERT INTO publication_counter (id, next_sequence, page_size)
VALUES (1, %(next_sequence)s, %(page_size)s)
ON CONFLICT (id) DO UPDATE SET next_sequence = EXCLUDED.next_sequence
"""

# One statement per position: position 0 for every new article, later positions for some.
_FILL_AUTHORS = """
INSERT INTO article_authors (article_pk, position, name, email, url, slug, sequence)
SELECT pk, %(position)s, (%(names)s::text[])[i], (%(emails)s::text[])[i],
    (%(urls)s::text[])[i], (%(slugs)s::text[])[i], sequence
FROM (SELECT pk, sequence, 1 + floor(%(pool)s * power(random(), %(skew)s))::int AS i
      FROM articles WHERE pk BETWEEN %(low)s AND %(high)s AND {condition}) AS s
"""

_FILL_TERMS = """
INSERT INTO article_terms (article_pk, kind, position, name, slug, sequence)
SELECT pk, %(kind)s, %(position)s, (%(names)s::text[])[i], (%(slugs)s::text[])[i], sequence
FROM (SELECT pk, sequence, 1 + floor(%(pool)s * power(random(), %(skew)s))::int AS i
      FROM articles WHERE pk BETWEEN %(low)s AND %(high)s AND {condition}) AS s
"""

# (table, kind, pool skew, condition of each position: 1-2 authors, 1-2 categories, 2-5 tags)
_POSITIONS = (
    ("article_authors", "", 1.5, ("true", "pk %% 4 = 0")),
    ("article_terms", "category", 2.5, ("true", "pk %% 3 = 0")),
    ("article_terms", "tag", 2.0, ("true", "true", "pk %% 4 >= 1", "pk %% 4 >= 2", "pk %% 4 = 3")),
)
_FILLED_TABLES = ("articles", "article_authors", "article_terms")


@contextmanager
def scratch_database(admin_url: str = ADMIN_URL) -> Iterator[str]:
    """A new empty database; its SQLAlchemy URL. Dropped at the end, whatever happens."""
    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        host = admin_url.split("@", 1)[1].rsplit("/", 1)[0]
        yield f"postgresql+psycopg://postgres@{host}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def plain_url(url: str) -> str:
    """The psycopg form of a SQLAlchemy PostgreSQL URL."""
    return url.replace("postgresql+psycopg://", "postgresql://")


@dataclass(frozen=True)
class Pool:
    """Authors, categories or tags to draw from: names and slugs (and authors' emails and
    URLs), in the corpus's order of popularity."""

    names: list[str]
    slugs: list[str]
    emails: list[str | None] = field(default_factory=list)
    urls: list[str | None] = field(default_factory=list)


def term_pools() -> dict[str, Pool]:
    """The corpus's pools (``bench/corpus_pools.py``), slugged by the service's rule."""
    from app.domain import term_slug

    pools = make_pools()
    return {
        "": Pool(
            names=[a["name"] for a in pools.authors],
            slugs=[term_slug(a["name"]) for a in pools.authors],
            emails=[a.get("email") for a in pools.authors],
            urls=[a.get("url") for a in pools.authors],
        ),
        "category": Pool(list(pools.categories), [term_slug(n) for n in pools.categories]),
        "tag": Pool(list(pools.tags), [term_slug(n) for n in pools.tags]),
    }


def fill(
    conn: psycopg.Connection[Any], first: int, last: int, pools: dict[str, Pool], page_size: int
) -> None:
    """Add articles ``first``..``last`` (numbers, not keys) with their authors and terms,
    numbered in date order after every article before them, in one transaction.
    ``page_size`` is the archive page size if no article was numbered before."""
    row = conn.execute("SELECT coalesce(max(pk), 0) FROM articles").fetchone()
    assert row is not None
    after = row[0]
    counter = conn.execute(_NEXT_SEQUENCE).fetchone()
    next_sequence = counter[0] if counter else 0
    conn.execute(_FILL_ARTICLES, {"first": first, "last": last, "next_sequence": next_sequence})
    row = conn.execute("SELECT max(pk), count(*) FILTER (WHERE pk > %s) FROM articles", (after,))
    high, added = row.fetchone() or (0, 0)
    if added != last - first + 1 or high != after + added:
        raise BenchError("the new articles' keys are not consecutive; cannot fill their terms")
    for table, kind, skew, conditions in _POSITIONS:
        pool = pools[kind]
        template = _FILL_AUTHORS if table == "article_authors" else _FILL_TERMS
        for position, condition in enumerate(conditions):
            params: dict[str, Any] = {
                "position": position,
                "names": pool.names,
                "slugs": pool.slugs,
                "pool": len(pool.names),
                "skew": skew,
                "low": after + 1,
                "high": high,
            }
            if kind:
                params["kind"] = kind
            else:
                params |= {"emails": pool.emails, "urls": pool.urls}
            conn.execute(template.format(condition=condition), params)
    conn.execute(_ADVANCE_COUNTER, {"next_sequence": next_sequence + added, "page_size": page_size})
    conn.commit()


@contextmanager
def bulk_mode(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """Fill without the tables' secondary indexes and foreign-key triggers; make the
    indexes again afterwards, exactly as the migrations defined them, and ANALYZE.

    Query plans depend on none of this, and it makes a fill several times faster.
    """
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET maintenance_work_mem = '256MB'")
    conn.execute("SET session_replication_role = replica")  # no FK triggers
    indexes = _drop_secondary_indexes(conn)
    conn.commit()
    try:
        yield
    finally:
        conn.rollback()
        for definition in indexes:
            conn.execute(definition)
        conn.execute("SET session_replication_role = DEFAULT")
        conn.commit()
        for table in _FILLED_TABLES:
            conn.execute(f"ANALYZE {table}")
        conn.commit()


def _drop_secondary_indexes(conn: psycopg.Connection[Any]) -> list[str]:
    """Drop what makes row-by-row inserts slow and is quick to build in one go afterwards:
    the indexes of the filled tables that back no constraint, their unique constraints,
    and the primary keys that no foreign key refers to. Returns the DDL that restores
    them exactly."""
    restore: list[str] = []
    constraints = conn.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
        "FROM pg_constraint c WHERE c.conrelid::regclass::text = ANY(%s) "
        "AND (c.contype = 'u' OR (c.contype = 'p' AND NOT EXISTS ("
        "SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.confrelid = c.conrelid)))",
        (list(_FILLED_TABLES),),
    ).fetchall()
    indexes = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
        "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conname = i.indexname)",
        (list(_FILLED_TABLES),),
    ).fetchall()
    for table, name, definition in constraints:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        restore.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for name, definition in indexes:
        conn.execute(f'DROP INDEX "{name}"')
        restore.append(definition)
    return restore


def unlogged(conn: psycopg.Connection[Any]) -> None:
    """Scratch tables need no crash safety: children first (a logged table may not refer
    to an unlogged one)."""
    children = ("article_slugs", "article_authors", "article_terms", "legacy_paths")
    for table in (*children, "articles"):
        conn.execute(f"ALTER TABLE {table} SET UNLOGGED")
    conn.commit()
