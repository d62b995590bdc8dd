"""Settings: code defaults, then a TOML file, then ``BROADSHEET_*`` variables, then overrides.

A TOML key ``[section] name`` sets the field ``section_name``; the environment variable
``BROADSHEET_SECTION_NAME`` does the same. :class:`Settings` (pydantic-settings) declares each
field's type and range; a bad value raises :class:`~app.errors.SettingsError` naming it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from pydantic import Field
from pydantic import ValidationError
from pydantic import ValidationInfo
from pydantic import field_validator
from pydantic import model_validator
from pydantic_settings import BaseSettings
from pydantic_settings import PydanticBaseSettingsSource
from pydantic_settings import SettingsConfigDict
from pydantic_settings import TomlConfigSettingsSource

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

# RFC 5646 (BCP 47) section 2.1: a language of 2-3 letters and up to three extended language
# subtags, then script, region, variants, extensions and private use; or private use alone.
# Left out: languages of 4-8 letters (reserved, none registered) and the deprecated
# grandfathered irregular tags such as i-klingon. The API document publishes the pattern.
_PRIMARY = r"[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}"
_SCRIPT = r"(?:-[A-Za-z]{4})?"
_REGION = r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"
_VARIANTS = r"(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
_EXTENSIONS = r"(?:-[0-9A-WYZa-wyz](?:-[A-Za-z0-9]{2,8})+)*"
_PRIVATE_USE = r"[Xx](?:-[A-Za-z0-9]{1,8})+"
#: What :func:`is_language_tag` accepts (a JSON Schema pattern as well as a Python one).
LANGUAGE_TAG_PATTERN = (
    f"^(?:{_PRIMARY}{_SCRIPT}{_REGION}{_VARIANTS}{_EXTENSIONS}(?:-{_PRIVATE_USE})?|{_PRIVATE_USE})$"
)
_LANGUAGE_TAG = re.compile(LANGUAGE_TAG_PATTERN)
#: The longest language tag stored (the API's limit, and the site's).
LANGUAGE_TAG_MAX_LENGTH = 35


def is_language_tag(value: str) -> bool:
    """Whether ``value`` is a well-formed BCP 47 language tag (:data:`LANGUAGE_TAG_PATTERN`).

    Here rather than with the article field rules (:mod:`app.inputs`), which use it too,
    because the site's language is a setting, and settings sit below the input rules.
    """
    return _LANGUAGE_TAG.fullmatch(value) is not None


def _comma_separated(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _moves(text: str) -> dict[str, str]:
    pairs = (pair.partition("=") for pair in _comma_separated(text))
    return {old.strip(): new.strip() for old, _, new in pairs}


def _out_of_range(name: str, low: float, high: float, value: Any) -> str:
    return f"Setting {name} must be between {low} and {high}, got {value}."


class Settings(BaseSettings):
    """Every setting of the service. Field names are ``<toml section>_<toml key>``.

    Strict: a value has its field's type (an int is a float too); text given for a number or
    a yes/no is read as JSON first, so ``"12"`` is 12 and ``"true"`` is True.
    """

    model_config = SettingsConfigDict(frozen=True, strict=True, extra="forbid")

    site_title: str = "Broadsheet"
    site_description: str = "Notícias, análises e reportagens."
    site_language: str = "pt-BR"
    site_base_url: str = "http://127.0.0.1:8000"
    site_timezone: str = "America/Sao_Paulo"
    site_id_authority: str = ""
    site_epoch: str = "2026-01-01T00:00:00Z"

    database_url: str = "sqlite:///instance/broadsheet.db"
    database_echo: bool = False

    feed_item_limit: int = Field(20, ge=1, le=1000)
    feed_regenerate_seconds: int = Field(60, ge=1, le=86_400)
    feed_render_poll_seconds: float = Field(0.25, ge=0.05, le=3600)
    feed_render_retry_seconds: int = Field(30, ge=1, le=86_400)
    feed_archive_max_age_seconds: int = Field(86_400, ge=0, le=31_536_000)
    feed_render_cache_bytes: int = Field(64 * 1024 * 1024, ge=0, le=1 << 40)
    feed_moved: str = ""
    feed_retired: str = ""

    polite_enabled: bool = False
    polite_min_interval_seconds: int = Field(60, ge=1, le=86_400)
    stats_flush_seconds: float = Field(10.0, ge=0.0, le=3600)

    api_max_body_bytes: int = Field(1_048_576, ge=1024, le=64 * 1024 * 1024)
    api_page_size: int = Field(20, ge=1, le=1000)
    api_max_page_size: int = 100  # from api_page_size to 10 000: _check_ranges_set_by_others
    api_auth_max_failures: int = Field(10, ge=1, le=100_000)
    api_auth_failure_window_seconds: int = Field(60, ge=1, le=86_400)

    http_max_header_bytes: int = Field(8192, ge=1024, le=1024 * 1024)
    http_max_headers_bytes: int = 32_768  # from http_max_header_bytes to 16 MiB: likewise

    server_kind: str = "granian"
    server_host: str = "127.0.0.1"
    server_port: int = Field(8000, ge=1, le=65535)
    server_workers: int = Field(2, ge=1, le=64)
    server_threads: int = Field(4, ge=1, le=256)
    server_max_connections: int = Field(4096, ge=16, le=1_000_000)
    server_feed_cache_bytes: int = Field(64 * 1024 * 1024, ge=1024 * 1024, le=64 * 1024**3)
    server_feed_refresh_seconds: float = Field(0.25, ge=0.0, le=60.0)
    server_page_memory_bytes: int = Field(16 * 1024 * 1024, ge=0, le=64 * 1024**3)
    server_trusted_proxies: int = Field(0, ge=0, le=10)

    health_dir: str = ""

    log_level: str = "INFO"
    log_format: str = "text"

    websub_hubs: str = ""
    websub_timeout_seconds: float = Field(5.0, ge=0.1, le=120)
    websub_max_attempts: int = Field(12, ge=1, le=100)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """``Settings(...)`` takes its arguments only: :func:`load_settings` names the sources."""
        return (init_settings,)

    @property
    def base_url(self) -> str:
        """The public base URL with no trailing slash."""
        return self.site_base_url.rstrip("/")

    @property
    def moved_feeds(self) -> dict[str, str]:
        """``feed_moved`` as a map from old path to new path (each answered with 301)."""
        return _moves(self.feed_moved)

    @property
    def retired_feeds(self) -> frozenset[str]:
        """``feed_retired`` as a set of paths (each answered with 410 Gone)."""
        return frozenset(_comma_separated(self.feed_retired))

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
        """The hub URLs of ``websub_hubs``, in order, each once; none when WebSub is off."""
        return tuple(dict.fromkeys(_comma_separated(self.websub_hubs)))

    @field_validator("*", mode="before")
    @classmethod
    def _read_text_as_json(cls, value: Any, info: ValidationInfo) -> Any:
        # BROADSHEET_FEED_ITEM_LIMIT=12 means 12; text that is not JSON fails the type check.
        kind = cls.model_fields[str(info.field_name)].annotation
        if kind is str or not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value

    @field_validator("site_base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        base = urlsplit(value)
        if base.scheme not in ("http", "https") or not base.hostname:
            raise ValueError(
                f"Setting site_base_url must be an absolute http(s) URL, got {value!r}."
            )
        if base.query or base.fragment:
            raise ValueError("Setting site_base_url must not have a query or fragment.")
        return value

    @field_validator("site_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            problem = f"Setting site_timezone names no known time zone: {value!r}."
            raise ValueError(problem) from None
        return value

    @field_validator("site_epoch")
    @classmethod
    def _check_epoch(cls, value: str) -> str:
        try:
            epoch = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("Setting site_epoch must be an RFC 3339 date-time.") from None
        if epoch.tzinfo is None:
            raise ValueError("Setting site_epoch must carry a time zone offset.")
        return value

    @field_validator("site_title", "database_url")
    @classmethod
    def _check_not_blank(cls, value: str, info: ValidationInfo) -> str:
        if not value.strip():
            raise ValueError(f"Setting {info.field_name} must not be empty.")
        return value

    @field_validator("site_language")
    @classmethod
    def _check_language(cls, value: str) -> str:
        # Every feed's language and every article's by default: an article's rule, then.
        if not is_language_tag(value) or len(value) > LANGUAGE_TAG_MAX_LENGTH:
            raise ValueError(
                f"Setting site_language must be a language tag such as pt-BR or en, got {value!r}."
            )
        return value

    @field_validator("feed_moved")
    @classmethod
    def _check_moved(cls, value: str) -> str:
        for old, new in _moves(value).items():
            if not (old.startswith("/") and new.startswith("/")) or old == new:
                raise ValueError(
                    "Setting feed_moved must be comma-separated old=new pairs of paths "
                    f"starting with /, got {old!r}={new!r}."
                )
        return value

    @field_validator("feed_retired")
    @classmethod
    def _check_retired(cls, value: str) -> str:
        for path in _comma_separated(value):
            if not path.startswith("/"):
                raise ValueError(f"Setting feed_retired must list paths starting with /: {path!r}.")
        return value

    @field_validator("websub_hubs")
    @classmethod
    def _check_hubs(cls, value: str) -> str:
        for hub in _comma_separated(value):
            parts = urlsplit(hub)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
                raise ValueError(
                    "Setting websub_hubs must list absolute http(s) URLs separated by commas, "
                    f"got {hub!r}."
                )
        return value

    @field_validator("server_kind", "log_format", "log_level")
    @classmethod
    def _check_choice(cls, value: str, info: ValidationInfo) -> str:
        choices = {
            "server_kind": ({"granian", "gunicorn"}, "'granian' or 'gunicorn'"),
            "log_format": ({"text", "json"}, "'text' or 'json'"),
            "log_level": ({"DEBUG", "INFO", "WARNING", "ERROR"}, "DEBUG, INFO, WARNING or ERROR"),
        }
        allowed, said = choices[str(info.field_name)]
        if (value.upper() if info.field_name == "log_level" else value) not in allowed:
            raise ValueError(f"Setting {info.field_name} must be {said}.")
        return value

    @model_validator(mode="after")
    def _check_ranges_set_by_others(self) -> Settings:
        for name, low, high in (
            ("api_max_page_size", self.api_page_size, 10_000),
            ("http_max_headers_bytes", self.http_max_header_bytes, 16 * 1024 * 1024),
        ):
            if not low <= getattr(self, name) <= high:
                raise ValueError(_out_of_range(name, low, high, getattr(self, name)))
        return self


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
    path = config_file or _config_path(environ)
    values = _file_values(path) if path is not None else {}
    # Not pydantic-settings' EnvSettingsSource: it reads os.environ only, and passes over a
    # BROADSHEET_* name that is no setting. Here the environment is an argument (tests and
    # build_services pass theirs), and a misspelt name stops the start.
    values.update(_environment_values(environ))
    values.update(overrides or {})
    for name in RETIRED_SETTINGS.keys() & values.keys():
        log.warning("setting %s is ignored: %s", name, RETIRED_SETTINGS[name])
        del values[name]
    try:
        return Settings(**values)
    except ValidationError as error:
        raise _settings_error(error) from None


def _config_path(environ: Mapping[str, str]) -> Path | None:
    named = environ.get(CONFIG_FILE_VARIABLE)
    if named:
        path = Path(named)
        if not path.is_file():
            raise SettingsError(f"{CONFIG_FILE_VARIABLE} names {named!r}, which is not a file.")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def _environment_values(environ: Mapping[str, str]) -> dict[str, str]:
    """``BROADSHEET_FEED_ITEM_LIMIT=12`` as ``{"feed_item_limit": "12"}``."""
    return {
        name[len(ENV_PREFIX) :].lower(): value
        for name, value in environ.items()
        if name.startswith(ENV_PREFIX) and name != CONFIG_FILE_VARIABLE
    }


class _SectionedTomlSource(TomlConfigSettingsSource):
    """The settings file, whose ``[feed] item_limit = 7`` sets ``feed_item_limit``."""

    def _read_file(self, path: Path | Traversable) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for section, table in super()._read_file(path).items():
            if not isinstance(table, dict):
                raise SettingsError(f"{path}: {section!r} must be a [section] of settings.")
            values.update((f"{section}_{key}", value) for key, value in table.items())
        return values


def _file_values(path: Path) -> dict[str, Any]:
    try:
        return _SectionedTomlSource(Settings, toml_file=path)()
    except (OSError, ValueError) as error:  # tomllib.TOMLDecodeError is a ValueError
        raise SettingsError(f"Cannot read the settings file {str(path)!r}: {error}") from None


def _settings_error(error: ValidationError) -> SettingsError:
    """The first problem pydantic found, as one message that names the setting."""
    problem = error.errors(include_url=False)[0]
    name = str(problem["loc"][0]) if problem["loc"] else ""
    if problem["type"] == "extra_forbidden":
        return SettingsError(f"Unknown setting {name!r}.")
    if problem["type"] == "value_error":
        message = str(problem["ctx"]["error"])  # the checks above write whole messages
        return SettingsError(message if name in message else f"Setting {name}: {message}.")
    field = Settings.model_fields[name]
    kind = field.annotation if isinstance(field.annotation, type) else str
    if problem["type"] in ("greater_than_equal", "less_than_equal"):
        low = next(rule.ge for rule in field.metadata if hasattr(rule, "ge"))
        high = next(rule.le for rule in field.metadata if hasattr(rule, "le"))
        return SettingsError(_out_of_range(name, low, high, kind(problem["input"])))
    return SettingsError(
        f"Setting {name} ({ENV_PREFIX}{name.upper()}) must be a {kind.__name__}, "
        f"got {problem['input']!r}."
    )
