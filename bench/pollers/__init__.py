"""Issue 5, point 7: a thousand feed readers poll the production server while articles are
published. ``python -m bench.pollers`` (``make bench-pollers``); ``--smoke`` for CI.

The service runs as deployed (``broadsheet migrate``, ``broadsheet import`` of a few
hundred corpus articles, ``broadsheet web`` with the default server settings and
``broadsheet scheduler``) on SQLite in a scratch directory and a free port of 127.0.0.1.
Then, for a fixed time, asyncio pollers each keep one keep-alive connection and fetch one
feed again and again after a random think time, as feed readers do: the site's RSS, Atom
and JSON Feed and the busiest categories' feeds, conditionally (the ETag and/or
Last-Modified of their last answer) or not, with and without gzip. Meanwhile a publisher
POSTs an article to the JSON API at a steady rate, so the feeds change under the readers.

Every answer is checked: a 200 must carry the feed's media type and a body that parses
(gunzipped when gzip was sent; lxml for RSS and Atom, json for JSON Feed) with at least
one entry, and one ETag must always name the same bytes; a 304 must answer a validator the
client sent, with the ETag the client holds. Connection errors, timeouts and any other
status are errors. Bodies are checked once per distinct byte string (by SHA-256), which
keeps the load generator light without trusting anything: a body that differs by one byte
is parsed on its own.

Prints one table (and saves it as ``bench/out/pollers-*.{txt,json}``); exits 1 unless
there were no errors and no unparsable feeds and readers saw feeds change, 2 if the
service could not be set up.
"""
