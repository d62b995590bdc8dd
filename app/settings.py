"""Settings: code defaults, then a TOML file, then ``BROADSHEET_*`` variables, then overrides.

A TOML key ``[section] name`` sets the field ``section_name``; the environment variable
``BROADSHEET_SECTION_NAME`` does the same. Every value is checked once, at start-up, and a
bad one raises :class:`~app.errors.SettingsError` naming the setting.
"""

from __future__ import annotations

import json
import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import fields
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from app.errors import SettingsError

ENV_PREFIX = "BROADSHEET_"
CONFIG_FILE_VARIABLE = "BROADSHEET_CONFIG"
DEFAULT_CONFIG_FILE = Path("config/broadsheet.toml")
#: Settings of earlier versions that no longer do anything, and why: a site that still
#: sets one starts, with a warning, instead of failing.
RETIRED_SETTINGS = {
    "feed_archive_period": "archives are pages of feed.item_limit articles in publication "
    "order; archive URLs of periods redirect to them",
}

log = logging.getLogger(__name__)


#: What :func:`is_language_tag` accepts: a 2-3 letter language, subtags of 1-8 alphanumerics.
LANGUAGE_TAG_PATTERN = r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$"
#: The longest language tag stored (the API's limit, and the site's).
LANGUAGE_TAG_MAX_LENGTH = 35


def is_language_tag(value: str) -> bool:
    """BCP 47 in its common shape: a 2-3 letter language, optional subtags of 1-8
    alphanumerics (:data:`LANGUAGE_TAG_PATTERN`).

    Here rather than with the article field rules (:mod:`app.inputs`), which use it too,
    because the site's language is a setting, and settings sit below the input rules.
    """
    parts = value.split("-")
    return (
        2 <= len(parts[0]) <= 3
        and parts[0].isascii()
        and parts[0].isalpha()
        and all(1 <= len(p) <= 8 and p.isascii() and p.isalnum() for p in parts[1:])
    )


@dataclass(frozen=True)
class Settings:
    """Every setting of the service. Field names are ``<toml section>_<toml key>``."""

    site_title: str = "Broadsheet"
    site_description: str = "Notícias, análises e reportagens."
    site_language: str = "pt-BR"
    site_base_url: str = "http://127.0.0.1:8000"
    site_timezone: str = "America/Sao_Paulo"
    site_id_authority: str = ""
    site_epoch: str = "2026-01-01T00:00:00Z"

    database_url: str = "sqlite:///instance/broadsheet.db"
    database_echo: bool = False

    feed_item_limit: int = 20
    feed_regenerate_seconds: int = 60
    feed_render_poll_seconds: float = 0.25
    feed_render_retry_seconds: int = 30
    feed_archive_max_age_seconds: int = 86_400
    feed_render_cache_bytes: int = 64 * 1024 * 1024
    feed_moved: str = ""
    feed_retired: str = ""

    polite_enabled: bool = False
    polite_min_interval_seconds: int = 60
    stats_flush_seconds: float = 10.0

    api_max_body_bytes: int = 1_048_576
    api_page_size: int = 20
    api_max_page_size: int = 100
    api_auth_max_failures: int = 10
    api_auth_failure_window_seconds: int = 60

    http_max_header_bytes: int = 8192
    http_max_headers_bytes: int = 32_768

    server_kind: str = "granian"
    server_host: str = "127.0.0.1"
    server_port: int = 8000
    server_workers: int = 2
    server_threads: int = 4
    server_max_connections: int = 4096
    server_feed_cache_bytes: int = 64 * 1024 * 1024
    server_feed_refresh_seconds: float = 0.25
    server_page_memory_bytes: int = 16 * 1024 * 1024
    server_trusted_proxies: int = 0

    health_dir: str = ""

    log_level: str = "INFO"
    log_format: str = "text"

    websub_hubs: str = ""
    websub_timeout_seconds: float = 5.0
    websub_max_attempts: int = 12

    @property
    def base_url(self) -> str:
        """The public base URL with no trailing slash."""
        return self.site_base_url.rstrip("/")

    @property
    def moved_feeds(self) -> dict[str, str]:
        """``feed_moved`` as a map from old path to new path (each answered with 301)."""
        moves: dict[str, str] = {}
        for pair in self.feed_moved.split(","):
            if pair.strip():
                old, _, new = pair.partition("=")
                moves[old.strip()] = new.strip()
        return moves

    @property
    def retired_feeds(self) -> frozenset[str]:
        """``feed_retired`` as a set of paths (each answered with 410 Gone)."""
        return frozenset(path.strip() for path in self.feed_retired.split(",") if path.strip())

    @property
    def id_authority(self) -> str:
        """The authority used when minting new ``tag:`` ids (RFC 4151)."""
        return self.site_id_authority or (urlsplit(self.site_base_url).hostname or "localhost")

    @property
    def epoch(self) -> datetime:
        """The fixed ``updated`` of a feed with no entries (never ``now()``)."""
        return datetime.fromisoformat(self.site_epoch).astimezone(UTC)

    @property
    def timezone(self) -> ZoneInfo:
        """The zone in which pages show dates."""
        return ZoneInfo(self.site_timezone)

    @property
    def hubs(self) -> tuple[str, ...]:
        """The WebSub hub URLs of ``websub_hubs``, in order, without blanks or repeats.

        Empty when WebSub is off.
        """
        parts = (part.strip() for part in self.websub_hubs.split(","))
        return tuple(dict.fromkeys(part for part in parts if part))


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Build validated Settings from defaults, a TOML file, the environment and overrides.

    Raises:
        SettingsError: a value is unknown, of the wrong type, or out of range.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = config_file or _config_path(environ)
    if path is not None:
        values.update(_read_toml(path))
    values.update(_read_environ(environ))
    for name, value in (overrides or {}).items():
        values[name] = value
    known = {f.name: f for f in fields(Settings)}
    coerced: dict[str, Any] = {}
    for name, raw in values.items():
        if name in RETIRED_SETTINGS:
            log.warning("setting %s is ignored: %s", name, RETIRED_SETTINGS[name])
            continue
        if name not in known:
            raise SettingsError(f"Unknown setting {name!r}.")
        coerced[name] = _coerce(name, raw, known[name].type)
    settings = Settings(**coerced)
    validate_settings(settings)
    return settings


def _config_path(environ: Mapping[str, str]) -> Path | None:
    named = environ.get(CONFIG_FILE_VARIABLE)
    if named:
        path = Path(named)
        if not path.is_file():
            raise SettingsError(f"{CONFIG_FILE_VARIABLE} names {named!r}, which is not a file.")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"Cannot read the settings file {str(path)!r}: {error}") from None
    values: dict[str, Any] = {}
    for section, table in document.items():
        if not isinstance(table, dict):
            raise SettingsError(f"{path}: {section!r} must be a [section] of settings.")
        for key, value in table.items():
            values[f"{section}_{key}"] = value
    return values


def _read_environ(environ: Mapping[str, str]) -> dict[str, str]:
    return {
        name[len(ENV_PREFIX) :].lower(): value
        for name, value in environ.items()
        if name.startswith(ENV_PREFIX) and name != CONFIG_FILE_VARIABLE
    }


def _coerce(name: str, raw: Any, annotation: Any) -> Any:
    kind = {"str": str, "int": int, "float": float, "bool": bool}[str(annotation)]
    env_name = ENV_PREFIX + name.upper()
    if isinstance(raw, str) and kind is not str:
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise SettingsError(
                f"Setting {name} ({env_name}) must be a {kind.__name__}, got {raw!r}."
            ) from None
    if kind is float and isinstance(raw, int) and not isinstance(raw, bool):
        raw = float(raw)
    if not isinstance(raw, kind) or (kind is int and isinstance(raw, bool)):
        raise SettingsError(f"Setting {name} ({env_name}) must be a {kind.__name__}, got {raw!r}.")
    return raw


def validate_settings(settings: Settings) -> None:
    """Check ranges and formats of every setting.

    Raises:
        SettingsError: naming the first bad setting.
    """
    base = urlsplit(settings.site_base_url)
    if base.scheme not in ("http", "https") or not base.hostname:
        raise SettingsError(
            "Setting site_base_url must be an absolute http(s) URL, "
            f"got {settings.site_base_url!r}."
        )
    if base.query or base.fragment:
        raise SettingsError("Setting site_base_url must not have a query or fragment.")
    try:
        settings.timezone  # noqa: B018 - evaluated for validation
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"Setting site_timezone names no known time zone: {settings.site_timezone!r}."
        ) from None
    try:
        epoch = datetime.fromisoformat(settings.site_epoch)
    except ValueError:
        raise SettingsError("Setting site_epoch must be an RFC 3339 date-time.") from None
    if epoch.tzinfo is None:
        raise SettingsError("Setting site_epoch must carry a time zone offset.")
    if not settings.site_title.strip():
        raise SettingsError("Setting site_title must not be empty.")
    language = settings.site_language
    if not is_language_tag(language) or len(language) > LANGUAGE_TAG_MAX_LENGTH:
        # It is every feed's language (RSS <language>, Atom xml:lang, JSON Feed language)
        # and every article's by default: the API's rule for an article's language.
        raise SettingsError(
            f"Setting site_language must be a language tag such as pt-BR or en, got {language!r}."
        )
    if not settings.database_url.strip():
        raise SettingsError("Setting database_url must not be empty.")
    _check_range(settings, "feed_item_limit", 1, 1000)
    _check_range(settings, "feed_regenerate_seconds", 1, 86_400)
    _check_range(settings, "feed_render_poll_seconds", 0.05, 3600)
    _check_range(settings, "feed_render_retry_seconds", 1, 86_400)
    _check_range(settings, "feed_archive_max_age_seconds", 0, 31_536_000)
    _check_range(settings, "feed_render_cache_bytes", 0, 1 << 40)
    for old, new in settings.moved_feeds.items():
        if not (old.startswith("/") and new.startswith("/")) or old == new:
            raise SettingsError(
                "Setting feed_moved must be comma-separated old=new pairs of paths starting "
                f"with /, got {old!r}={new!r}."
            )
    for path in settings.retired_feeds:
        if not path.startswith("/"):
            raise SettingsError(f"Setting feed_retired must list paths starting with /: {path!r}.")
    _check_range(settings, "polite_min_interval_seconds", 1, 86_400)
    _check_range(settings, "stats_flush_seconds", 0.0, 3600)
    _check_range(settings, "api_max_body_bytes", 1024, 64 * 1024 * 1024)
    _check_range(settings, "api_page_size", 1, 1000)
    _check_range(settings, "api_max_page_size", settings.api_page_size, 10_000)
    _check_range(settings, "api_auth_max_failures", 1, 100_000)
    _check_range(settings, "api_auth_failure_window_seconds", 1, 86_400)
    _check_range(settings, "http_max_header_bytes", 1024, 1024 * 1024)
    _check_range(
        settings, "http_max_headers_bytes", settings.http_max_header_bytes, 16 * 1024 * 1024
    )
    if settings.server_kind not in ("granian", "gunicorn"):
        raise SettingsError("Setting server_kind must be 'granian' or 'gunicorn'.")
    _check_range(settings, "server_port", 1, 65535)
    _check_range(settings, "server_workers", 1, 64)
    _check_range(settings, "server_threads", 1, 256)
    _check_range(settings, "server_max_connections", 16, 1_000_000)
    _check_range(settings, "server_feed_cache_bytes", 1024 * 1024, 64 * 1024**3)
    _check_range(settings, "server_feed_refresh_seconds", 0.0, 60.0)
    _check_range(settings, "server_page_memory_bytes", 0, 64 * 1024**3)
    _check_range(settings, "server_trusted_proxies", 0, 10)
    for hub in settings.hubs:
        parts = urlsplit(hub)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
            raise SettingsError(
                "Setting websub_hubs must list absolute http(s) URLs separated by commas, "
                f"got {hub!r}."
            )
    _check_range(settings, "websub_timeout_seconds", 0.1, 120)
    _check_range(settings, "websub_max_attempts", 1, 100)
    if settings.log_format not in ("text", "json"):
        raise SettingsError("Setting log_format must be 'text' or 'json'.")
    if settings.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError("Setting log_level must be DEBUG, INFO, WARNING or ERROR.")


def _check_range(settings: Settings, name: str, low: float, high: float) -> None:
    value = getattr(settings, name)
    if not low <= value <= high:
        raise SettingsError(f"Setting {name} must be between {low} and {high}, got {value}.")
