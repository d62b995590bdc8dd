"""Use cases: export every live article as JSON Lines, and import such lines back.

The format is one compact JSON object per line, UTF-8, keys in this order::

    id, slug, title, summary, body, body_format, authors [{name, email, url}],
    categories, tags, language, image ({url, type, length, width, height, caption,
    credit} or null), full_text_in_feeds, published_at, created_at, updated_at, revision,
    former_slugs

Times are RFC 3339 in UTC with microseconds, so an export loses nothing; ``body`` is what
the publisher wrote (Markdown or HTML), not the rendered HTML, which an import makes again.
Lines from other systems may leave out ``id``, ``slug``, ``created_at``, ``updated_at``,
``revision`` and ``former_slugs`` (and ``full_text_in_feeds``, true): the import then mints
an id, makes a free slug from the title, uses ``now`` and revision 1.

Every imported line goes through the API's field rules (:mod:`app.inputs`) and the same
content pipeline (:func:`app.articles.build_article`):
sanitising, absolute URLs, XML-invalid characters removed, slug rules. A bad line is
skipped and reported with its number; so is a line whose slug another article holds, or
whose id an earlier line of the same import has. A line whose id is already stored is
counted as already imported (a second run adds nothing; an interrupted one continues).
Good lines are stored in batches, one transaction each, and the feeds they touch are
marked stale. A line may also carry ``legacy_paths``: the article's paths on the site it
comes from (``/2020/05/04/a-post/``, ``/?p=42``), kept to answer 301; an export writes
them, after ``former_slugs``, for the articles that have any.

Other sources give lines of the same format: a WordPress export
(:mod:`app.transfer.wordpress`, its posts' text through :mod:`app.transfer.wp_content`)
and feeds (:mod:`app.transfer.feed_source`).

The modules, outside in:

- :mod:`app.transfer.export`: :func:`~app.transfer.export.export_lines`, the export.
- :mod:`app.transfer.importing`: :func:`~app.transfer.importing.import_lines`, the import:
  batches stored, ids and slugs claimed, feeds marked stale.
- :mod:`app.transfer.pipeline`: each line parsed, validated and cleaned, in worker
  processes when asked; stores nothing.
- :mod:`app.transfer.records`: the line format, both ways.
- :mod:`app.transfer.report`: what an import reports.
- :mod:`app.transfer.feed_source`: :func:`~app.transfer.feed_source.feed_records`, a
  feed and its history (RFC 5005 archives, ``?paged=N`` pages) read from a file or over
  HTTP as records; :mod:`app.transfer.feed_entries`: one feed document's entries as records.
"""
