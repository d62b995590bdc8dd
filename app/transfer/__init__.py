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
skipped and reported with its number; so is a line whose id or slug another article holds.
Good lines are stored in batches, one transaction each, and the feeds they touch are
marked stale.

The modules, outside in:

- :mod:`app.transfer.export`: :func:`~app.transfer.export.export_lines`, the export.
- :mod:`app.transfer.importing`: :func:`~app.transfer.importing.import_lines`, the import:
  batches stored, ids and slugs claimed, feeds marked stale.
- :mod:`app.transfer.pipeline`: each line parsed, validated and cleaned, in worker
  processes when asked; stores nothing.
- :mod:`app.transfer.records`: the line format, both ways.
- :mod:`app.transfer.report`: what an import reports.
"""
