"""The core loads no web framework: the scheduler, the CLI's workers and anything else
built on the use cases, storage and rendering carry none of Flask, Werkzeug or click.

import-linter holds the import graph (pyproject.toml); this test holds what a real
interpreter loads, which also catches a third-party package pulling a framework in.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# The inner layers of pyproject.toml's "Layers point inward", and the wiring the scheduler
# and the CLI build on. Packages are imported with every module below them.
CORE = (
    "app",
    "app.errors",
    "app.language_tags",
    "app.clock",
    "app.profiles",
    "app.collection_rules",
    "app.legacy_urls",
    "app.old_urls",
    "app.surrogate_keys",
    "app.webhook_events",
    "app.webhooks",
    "app.webhook_delivery",
    "app.settings",
    "app.settings_sources",
    "app.domain",
    "app.content",
    "app.input_values",
    "app.json_input",
    "app.inputs",
    "app.rendering",
    "app.storage",
    "app.documents",
    "app.teasers",
    "app.entries",
    "app.selection",
    "app.articles",
    "app.feeds",
    "app.operations",
    "app.monitoring",
    "app.metrics",
    "app.renderer",
    "app.snapshots",
    "app.sitemaps",
    "app.notifying",
    "app.transfer",
    "app.access",
    "app.secret_keys",
    "app.subscribers",
    "app.private_feeds",
    "app.private_renders",
    "app.opml",
    "app.curation",
    "app.services",
    "app.logs",
    "app.liveness",
)
WEB_FRAMEWORKS = ("flask", "werkzeug", "click")

LOADED = """
import importlib, json, pkgutil, sys
for name in sys.argv[1:]:
    module = importlib.import_module(name)
    if name != "app" and hasattr(module, "__path__"):
        for info in pkgutil.walk_packages(module.__path__, name + "."):
            # Alembic's scripts run only under Alembic; a __main__ only under python -m.
            if ".migrations" not in info.name and not info.name.endswith(".__main__"):
                importlib.import_module(info.name)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_by(*modules: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after importing ``modules``."""
    result = subprocess.run(
        [sys.executable, "-c", LOADED, *modules],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return {name.split(".")[0] for name in json.loads(result.stdout)}


def test_importing_the_core_loads_no_web_framework() -> None:
    loaded = loaded_by(*CORE)
    assert {"sqlalchemy", "feedgen"} <= loaded  # the core was imported for real
    assert loaded.isdisjoint(WEB_FRAMEWORKS), sorted(loaded & set(WEB_FRAMEWORKS))


@pytest.mark.parametrize("module", ["app.web.application", "app.cli"])
def test_the_web_role_and_the_cli_load_theirs(module: str) -> None:
    """The check above can fail: the outer layers do load a framework."""
    assert set(WEB_FRAMEWORKS) & loaded_by(module)
