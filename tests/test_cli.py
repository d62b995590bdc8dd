"""The broadsheet command: migrate, demo, token create/list/revoke, regenerate."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from app.domain import SITE_SCOPE
from app.domain import FeedFormat
from app.services import build_services
from tests.feedcheck import assert_valid_rss


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return {"BROADSHEET_DATABASE_URL": database_url, "BROADSHEET_LOG_LEVEL": "WARNING"}


def run(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_migrate_on_a_new_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh' / 'site.db'}"
    output = run({"BROADSHEET_DATABASE_URL": url}, "migrate")
    assert "newest schema" in output
    services = build_services({"database_url": url}, environ={})
    assert services.publisher.readiness() is None
    services.database.dispose()


def test_tokens_are_shown_once_and_can_be_revoked(env: dict[str, str]) -> None:
    secret = run(env, "token", "create", "--name", "cms").strip()
    assert secret.startswith("bst_") and len(secret) > 40
    services = build_services(environ=env)
    assert services.publisher.authenticate(secret).name == "cms"
    services.database.dispose()
    listing = run(env, "token", "list")
    assert "cms" in listing and "active" in listing
    assert secret not in listing
    run(env, "token", "revoke", "--name", "cms")
    assert "revoked" in run(env, "token", "list")
    failed = CliRunner().invoke(main, ["token", "create", "--name", "cms"], env=env)
    assert failed.exit_code != 0
    assert "exists already" in failed.output


def test_demo_loads_once_and_regenerate_renders(env: dict[str, str]) -> None:
    assert "demo articles added: 12" in run(env, "demo")
    assert "demo articles added: 0" in run(env, "demo")
    alone = run(env, "regenerate", "--jobs", "1")
    assert "failed: 0" in alone
    # Two processes share the work through claims: every feed once, none twice, and the
    # same bytes (nothing changed since the first pass).
    shared = run(env, "regenerate", "--jobs", "2")
    assert shared.split(";")[0] == alone.split(";")[0]  # "scopes rendered: N"
    assert "documents changed: 0; failed: 0" in shared
    services = build_services(environ=env)
    feed = assert_valid_rss(services.publisher.feed_snapshot(SITE_SCOPE, FeedFormat.RSS).body)
    services.database.dispose()
    assert len(feed.entries) == 10


def test_a_bad_setting_is_named_and_stops_the_command(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["migrate"], env={**env, "BROADSHEET_FEED_ITEM_LIMIT": "x"})
    assert result.exit_code != 0
    assert "feed_item_limit" in result.output
