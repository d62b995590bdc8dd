"""Settings: defaults, file, environment, overrides, and errors that name the setting."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from app.errors import SettingsError
from app.settings import Settings
from app.settings_sources import load_settings

CONFIG = Path(__file__).parent.parent / "config" / "broadsheet.toml"


def test_the_documented_file_lists_every_setting_with_its_default() -> None:
    document = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    documented = {f"{section}_{key}": value for section, table in document.items()
                  for key, value in table.items() if section != "collections"}  # fmt: skip
    # [collections.<slug>] tables are one setting, a table of tables.
    documented["collections"] = document["collections"]
    defaults = {name: field.default for name, field in Settings.model_fields.items()}
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
        ({"BROADSHEET_SITE_BASE_URL": "http://[::1"}, "site_base_url"),  # urlsplit raises
        ({"BROADSHEET_WEBSUB_HUBS": "http://[::1/hub"}, "websub_hubs"),
        ({"BROADSHEET_API_MAX_PAGE_SIZE": "5"}, "api_max_page_size"),  # under api.page_size
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


@pytest.mark.parametrize(
    "tag",
    ["pt-BR", "pt", "en", "en-GB", "zh-Hant-TW", "es-419", "sr-Latn-RS", "de-CH-1996",
     "zh-yue-HK", "en-US-u-ca-gregory", "en-x-house", "x-private"],
)  # fmt: skip
def test_a_language_tag_is_a_good_site_language(tag: str) -> None:
    assert load_settings(environ={"BROADSHEET_SITE_LANGUAGE": tag}).site_language == tag


@pytest.mark.parametrize(
    "tag",
    [
        "en-a",  # a singleton (extension) with nothing after it
        "en-US-u",
        "en-US-US",  # two regions
        "zh-Hant-Hant",  # two scripts
        "pt-BR-x",  # private use with nothing after it
        "pt-br1",  # no subtag of that shape (region: 2 letters or 3 digits)
        "en-abcd-US-latn",  # the script after the region
        "x",
        "english-language",  # a primary language of 7 letters: reserved, none registered
        "i-klingon",  # grandfathered and deprecated
    ],
)
def test_a_malformed_language_tag_is_refused_by_name(tag: str) -> None:
    """RFC 5646's grammar, where the old check took any 1-8 character subtags."""
    with pytest.raises(SettingsError, match="site_language"):
        load_settings(environ={"BROADSHEET_SITE_LANGUAGE": tag})


def test_a_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="BROADSHEET_CONFIG"):
        load_settings(environ={"BROADSHEET_CONFIG": str(tmp_path / "absent.toml")})


@pytest.mark.parametrize("content", [b"[site\n", b"[site]\ntitle = '\xff'\n", b"title = 'x'\n"])
def test_a_broken_config_file_is_an_error(tmp_path: Path, content: bytes) -> None:
    """Not TOML, not UTF-8, or a key outside a [section]."""
    config = tmp_path / "broken.toml"
    config.write_bytes(content)
    with pytest.raises(SettingsError, match=r"broken\.toml"):
        load_settings(environ={"BROADSHEET_CONFIG": str(config)})


def test_text_from_the_environment_is_read_as_json_for_numbers_and_yes_or_no() -> None:
    settings = load_settings(
        environ={
            "BROADSHEET_FEED_RENDER_POLL_SECONDS": "1",
            "BROADSHEET_POLITE_ENABLED": "true",
            "BROADSHEET_SITE_TITLE": "123",
        }
    )
    assert settings.feed_render_poll_seconds == 1.0
    assert isinstance(settings.feed_render_poll_seconds, float)
    assert settings.polite_enabled is True
    assert settings.site_title == "123"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("feed_item_limit", "many", "Setting feed_item_limit (BROADSHEET_FEED_ITEM_LIMIT) "
         "must be a int, got 'many'."),
        ("database_echo", "1", "Setting database_echo (BROADSHEET_DATABASE_ECHO) "
         "must be a bool, got 1."),
        ("feed_item_limit", "0", "Setting feed_item_limit must be between 1 and 1000, got 0."),
        ("websub_timeout_seconds", "0",
         "Setting websub_timeout_seconds must be between 0.1 and 120, got 0.0."),
        ("no_such_thing", "1", "Unknown setting 'no_such_thing'."),
    ],
)  # fmt: skip
def test_a_bad_setting_is_told_in_the_words_operators_know(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(environ={f"BROADSHEET_{name.upper()}": value})
    assert str(refused.value) == message


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
