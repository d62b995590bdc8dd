"""The broadsheet command: migrate, demo, token create/list/revoke, regenerate."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from app.domain import SITE_SCOPE
from app.domain import FeedFormat
from app.errors import AuthenticationFailed
from app.services import build_services
from tests.conftest import START
from tests.conftest import Cli
from tests.conftest import FakeClock
from tests.feedcheck import assert_valid_rss


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return {"BROADSHEET_DATABASE_URL": database_url, "BROADSHEET_LOG_LEVEL": "WARNING"}


def run(cli: Cli, env: dict[str, str], *args: str) -> str:
    result = cli(env, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def run_err(cli: Cli, env: dict[str, str], *args: str) -> str:
    result = cli(env, *args)
    assert result.exit_code == 0, result.output
    return result.stderr


def test_migrate_on_a_new_file(cli: Cli, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh' / 'site.db'}"
    output = run(cli, {"BROADSHEET_DATABASE_URL": url}, "migrate")
    assert "newest schema" in output
    services = build_services({"database_url": url}, environ={})
    assert services.operations.readiness() is None
    services.database.dispose()


def test_tokens_are_shown_once_and_can_be_revoked(
    cli: Cli, clock: FakeClock, env: dict[str, str]
) -> None:
    secret = run(cli, env, "token", "create", "--name", "cms").strip()
    assert secret.startswith("bst_") and len(secret) > 40
    services = build_services(environ=env, clock=clock)
    assert services.access.authenticate(secret, services.clock()).name == "cms"
    services.database.dispose()
    listing = run(cli, env, "token", "list")
    assert "cms" in listing and "active" in listing
    assert secret not in listing
    run(cli, env, "token", "revoke", "--name", "cms")
    assert "revoked" in run(cli, env, "token", "list")
    failed = cli(env, "token", "create", "--name", "cms")
    assert failed.exit_code != 0
    assert "exists already" in failed.output


def test_tokens_can_expire_and_the_listing_says_when(
    cli: Cli, clock: FakeClock, env: dict[str, str]
) -> None:
    result = cli(env, "token", "create", "--name", "cms", "--expires-in", "90d")
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    services = build_services(environ=env, clock=clock)
    try:
        now = services.clock()
        token = services.access.authenticate(secret, now)
        assert token.expires_at is not None
        assert abs(token.expires_at - (now + timedelta(days=90))) < timedelta(minutes=1)
        assert f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC" in result.stderr
        assert services.access.authenticate(secret, token.expires_at - timedelta(seconds=1))
        with pytest.raises(AuthenticationFailed):
            services.access.authenticate(secret, token.expires_at)
        # A token made two days ago for one day: expired now.
        services.access.create_token("old", now - timedelta(days=2), timedelta(hours=24))
    finally:
        services.database.dispose()
    created = run_err(cli, env, "token", "create", "--name", "day", "--expires-in", "12h")
    assert "token 'day' created (expires " in created
    run(cli, env, "token", "create", "--name", "forever")
    listing = run(cli, env, "token", "list").splitlines()
    lines = {line.split("\t")[0]: line.split("\t") for line in listing}
    assert lines["cms"][2:] == ["active", f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC"]
    assert lines["old"][2] == "expired"
    assert lines["day"][2] == "active" and lines["day"][3].startswith("expires ")
    assert lines["forever"][2:] == ["active", "never expires"]


def test_commands_take_the_time_from_the_services_clock(
    cli: Cli, clock: FakeClock, env: dict[str, str]
) -> None:
    """A command runs at its services' clock, never the machine's: what it stamps and
    what it reads agree with the rest of the services whatever today's date is."""
    clock.now = START - timedelta(days=3650)
    created = run_err(cli, env, "token", "create", "--name", "cms", "--expires-in", "12h")
    assert f"(expires {clock.now + timedelta(hours=12):%Y-%m-%d %H:%M} UTC)" in created
    assert "\tcreated 2016-" in run(cli, env, "token", "list")
    clock.advance(hours=13)
    assert "\texpired\t" in run(cli, env, "token", "list")


@pytest.mark.parametrize(
    ("lifetime", "message"),
    [
        ("5m", "is not a lifetime such as 12h, 90d or never"),
        ("d", "is not a lifetime such as 12h, 90d or never"),
        ("-1d", "is not a lifetime such as 12h, 90d or never"),
        ("0h", "expires_in: must be from one hour to 100 years"),
        ("36526d", "expires_in: must be from one hour to 100 years"),
    ],
)
def test_a_bad_lifetime_is_refused_and_named(
    cli: Cli, env: dict[str, str], lifetime: str, message: str
) -> None:
    result = cli(env, "token", "create", "--name", "x", "--expires-in", lifetime)
    assert result.exit_code != 0
    assert message in result.output
    assert "x\t" not in run(cli, env, "token", "list")


def test_demo_loads_once_and_regenerate_renders(
    cli: Cli, clock: FakeClock, env: dict[str, str]
) -> None:
    assert "demo articles added: 12" in run(cli, env, "demo")
    assert "demo articles added: 0" in run(cli, env, "demo")
    alone = run(cli, env, "regenerate", "--jobs", "1")
    assert "failed: 0" in alone
    # Two processes share the work through claims: every feed once, none twice, and the
    # same bytes (nothing changed since the first pass).
    shared = run(cli, env, "regenerate", "--jobs", "2")
    assert shared.split(";")[0] == alone.split(";")[0]  # "scopes rendered: N"
    assert "documents changed: 0; failed: 0" in shared
    services = build_services(environ=env, clock=clock)
    feed = assert_valid_rss(services.feeds.feed_snapshot(SITE_SCOPE, FeedFormat.RSS).body)
    services.database.dispose()
    assert len(feed.entries) == 10


def test_a_bad_setting_is_named_and_stops_the_command(
    cli: Cli, clock: FakeClock, env: dict[str, str]
) -> None:
    result = cli({**env, "BROADSHEET_FEED_ITEM_LIMIT": "x"}, "migrate")
    assert result.exit_code != 0
    assert "feed_item_limit" in result.output
