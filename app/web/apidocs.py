"""The API's documentation page, ``GET /api/v1/docs``: Swagger UI over the OpenAPI document.

Swagger UI's files come from the ``flask-swagger-ui`` package and are served from here,
so the page asks no other host for anything. Only the package's files are used, not its
blueprint, whose page starts Swagger UI with an inline script: ours starts it from
``static/api-docs.js``, and the page's policy can keep scripts to our own origin. Like the
document, the page is public.
"""

from __future__ import annotations

from functools import cache
from importlib.util import find_spec
from pathlib import Path

from flask import Blueprint
from flask import Response
from flask import abort
from flask import render_template
from flask import send_from_directory

from app.web import api
from app.web import services

SWAGGER_UI_PACKAGE = "flask_swagger_ui"
ASSETS = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"})
"""The files of Swagger UI the page loads; nothing else of the package is served."""
DOCS_POLICY = "; ".join(
    (
        "default-src 'self'",
        # Swagger UI is script; its own files and ours, nothing inline.
        "script-src 'self'",
        "style-src 'self'",
        # Its stylesheet draws icons as data: SVG images.
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
"""The page's Content-Security-Policy: the pages' own, but for scripts from our origin
(pages allow none) and images from ``data:`` rather than other hosts."""

blueprint = Blueprint("api_docs", __name__, url_prefix=f"{api.blueprint.url_prefix}/docs")


@blueprint.get("")
def docs_page() -> Response:
    """The browsable documentation of the API; needs no token."""
    page = render_template("api_docs.html", title=f"{services().settings.site_title} API")
    return Response(page, headers={"Content-Security-Policy": DOCS_POLICY}, mimetype="text/html")


@blueprint.get("/<name>")
def docs_asset(name: str) -> Response:
    """One of Swagger UI's :data:`ASSETS`; 404 for any other name."""
    if name not in ASSETS:
        abort(404)
    return send_from_directory(_swagger_ui_files(), name)


@cache
def _swagger_ui_files() -> Path:
    """The folder of Swagger UI's built files in the installed package (not imported)."""
    spec = find_spec(SWAGGER_UI_PACKAGE)
    if spec is None or spec.origin is None:
        raise LookupError(f"the {SWAGGER_UI_PACKAGE} package is not installed")
    return Path(spec.origin).parent / "dist"
