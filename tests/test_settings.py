"""Settings: defaults, file, environment, overrides, and errors that name the setting."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from app.errors import SettingsError
from app.settings import Settings
from app.settings import load_settings

CONFIG = Path(__file__).parent.parent / "config" / "broadsheet.toml"


def test_the_documented_file_lists_every_setting_with_its_default() -> None:
    document = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    documented = {f"{section}_{key}": value for section, table in document.items()
                  for key, value in table.items()}  # fmt: skip
    defaults = {f.name: f.default for f in dataclasses.fields(Settings)}
    assert documented == defaults


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text('[feed]\nitem_limit = 7\n[site]\ntitle = "Do arquivo"\n', encoding="utf-8")
    settings = load_settings(
        environ={"BROADSHEET_CONFIG": str(config), "BROADSHEET_FEED_ITEM_LIMIT": "12"}
    )
    assert settings.feed_item_limit == 12
    assert settings.site_title == "Do arquivo"


def test_overrides_win_over_everything() -> None:
    settings = load_settings({"feed_item_limit": 3}, environ={"BROADSHEET_FEED_ITEM_LIMIT": "9"})
    assert settings.feed_item_limit == 3


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"BROADSHEET_FEED_ITEM_LIMIT": "many"}, "feed_item_limit"),
        ({"BROADSHEET_FEED_ITEM_LIMIT": "0"}, "feed_item_limit"),
        ({"BROADSHEET_SITE_BASE_URL": "news.example.org"}, "site_base_url"),
        ({"BROADSHEET_SITE_TIMEZONE": "Mars/Olympus"}, "site_timezone"),
        ({"BROADSHEET_SITE_EPOCH": "2026-01-01T00:00:00"}, "site_epoch"),
        ({"BROADSHEET_LOG_FORMAT": "xml"}, "log_format"),
        ({"BROADSHEET_NO_SUCH_THING": "1"}, "no_such_thing"),
        ({"BROADSHEET_DATABASE_ECHO": "3"}, "database_echo"),
        ({"BROADSHEET_SITE_LANGUAGE": "pt BR"}, "site_language"),
        ({"BROADSHEET_SITE_LANGUAGE": "pt_BR"}, "site_language"),
        ({"BROADSHEET_SITE_LANGUAGE": ""}, "site_language"),
        ({"BROADSHEET_SITE_LANGUAGE": "pt-" + "-".join(["abcdefgh"] * 4)}, "site_language"),
    ],
)
def test_a_bad_setting_stops_the_start_and_is_named(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(environ=environ)


@pytest.mark.parametrize("tag", ["pt-BR", "en", "zh-Hant-TW", "es-419"])
def test_a_language_tag_is_a_good_site_language(tag: str) -> None:
    assert load_settings(environ={"BROADSHEET_SITE_LANGUAGE": tag}).site_language == tag


def test_a_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="BROADSHEET_CONFIG"):
        load_settings(environ={"BROADSHEET_CONFIG": str(tmp_path / "absent.toml")})


def test_a_broken_config_file_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "broken.toml"
    config.write_text("[site\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"broken\.toml"):
        load_settings(environ={"BROADSHEET_CONFIG": str(config)})


def test_a_retired_setting_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A site that still sets feed.archive_period (archives are pages now) starts, and its
    operator is told why the setting does nothing."""
    config = tmp_path / "site.toml"
    config.write_text('[feed]\narchive_period = "day"\nitem_limit = 7\n', encoding="utf-8")
    settings = load_settings(environ={"BROADSHEET_FEED_ARCHIVE_PERIOD": "hour"}, config_file=config)
    assert settings.feed_item_limit == 7
    assert not hasattr(settings, "feed_archive_period")
    assert "setting feed_archive_period is ignored: archives are pages" in caplog.text
