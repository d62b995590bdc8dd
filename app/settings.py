"""Settings: code defaults, then a TOML file, then ``BROADSHEET_*`` variables, then overrides.

A TOML key ``[section] name`` sets the field ``section_name``; the environment variable
``BROADSHEET_SECTION_NAME`` does the same. :class:`Settings` (pydantic-settings) declares each
field's type, range and check; :func:`app.settings_sources.load_settings` reads the sources
and turns a bad value into a :class:`~app.errors.SettingsError` naming it.
"""

from __future__ import annotations

import json
import re
from datetime import UTC
from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from pydantic import Field
from pydantic import ValidationInfo
from pydantic import field_validator
from pydantic import model_validator
from pydantic_settings import BaseSettings
from pydantic_settings import PydanticBaseSettingsSource
from pydantic_settings import SettingsConfigDict

from app import collection_rules
from app import legacy_urls
from app import profiles
from app.language_tags import LANGUAGE_TAG_MAX_LENGTH
from app.language_tags import is_language_tag


def _comma_separated(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _moves(text: str) -> dict[str, str]:
    pairs = (pair.partition("=") for pair in _comma_separated(text))
    return {old.strip(): new.strip() for old, _, new in pairs}


def _is_web_url(value: str) -> bool:
    """Whether ``value`` is an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 address)
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def out_of_range(name: str, low: float, high: float, value: Any) -> str:
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
    site_icon: str = ""
    site_logo: str = ""

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
    feed_profile: profiles.ProfileName = "full"  # how much text each feed carries
    feed_profiles: profiles.ScopeProfiles = {}  # by scope key, over feed_profile
    # [collections.<slug>] tables: curated and combined feeds (app.collection_rules).
    collections: collection_rules.CollectionSettings = {}

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
    log_requests: bool = False  # one line per request (app.web.observe), at INFO

    # /metrics (app.metrics): off unless a token or a port is set.
    metrics_token: str = ""  # "Authorization: Bearer <token>" on /metrics
    metrics_port: int = Field(0, ge=0, le=65535)  # a listener of its own; 0: none
    metrics_host: str = "127.0.0.1"

    websub_hubs: str = ""
    websub_timeout_seconds: float = Field(5.0, ge=0.1, le=120)
    websub_max_attempts: int = Field(12, ge=1, le=100)

    # Webhooks (app.webhooks): plain http only to this machine unless allowed here.
    webhooks_allow_http: bool = False
    webhooks_timeout_seconds: float = Field(5.0, ge=0.1, le=120)
    webhooks_max_attempts: int = Field(12, ge=1, le=100)
    # The purge presets' credentials (app.webhook_delivery).
    cdn_fastly_service_id: str = ""
    cdn_fastly_key: str = ""
    cdn_cloudflare_zone_id: str = ""
    cdn_cloudflare_token: str = ""

    robots_extra: str = ""

    # The URL shapes of the site an import came from ("/{yyyy}/{mm}/{dd}/{slug}/"): a
    # request of that shape answers 301 to the article's page (app.legacy_urls).
    legacy_url_patterns: list[str] = []

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

    @cached_property
    def declared_collections(self) -> tuple[collection_rules.Collection, ...]:
        """The collections of ``[collections.<slug>]``, by slug (built once: slugs cost time)."""
        return collection_rules.declared_collections(self.collections)

    @cached_property
    def legacy_patterns(self) -> tuple[legacy_urls.LegacyPattern, ...]:
        """``legacy_url_patterns`` compiled, in order (the first that matches answers)."""
        return legacy_urls.compile_patterns(self.legacy_url_patterns)

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
        if not _is_web_url(value):
            raise ValueError(
                f"Setting site_base_url must be an absolute http(s) URL, got {value!r}."
            )
        base = urlsplit(value)
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

    @field_validator("site_icon", "site_logo")
    @classmethod
    def _check_image_url(cls, value: str, info: ValidationInfo) -> str:
        # A path is on this site (resolved against site_base_url, as article URLs are). A
        # space or a control character would make the URL of every feed's image unusable.
        on_site = value.startswith("/") and not value.startswith("//")
        usable = (on_site or _is_web_url(value)) and " " not in value and value.isprintable()
        if value and not usable:
            raise ValueError(
                f"Setting {info.field_name} must be an absolute http(s) URL or a path "
                f"starting with /, got {value!r}."
            )
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
            if not _is_web_url(hub) or urlsplit(hub).fragment:
                raise ValueError(
                    "Setting websub_hubs must list absolute http(s) URLs separated by commas, "
                    f"got {hub!r}."
                )
        return value

    @field_validator("robots_extra")
    @classmethod
    def _check_robots_lines(cls, value: str) -> str:
        # RFC 9309 section 2.2: each line a "field: value" (or a comment), nothing else.
        for line in filter(None, (line.strip() for line in value.splitlines())):
            if not re.fullmatch(r"#.*|[A-Za-z-]+[ \t]*:[^\x00-\x08\x0a-\x1f\x7f]*", line):
                raise ValueError(f"Setting robots_extra must hold robots.txt rules, got {line!r}.")
        return value

    @field_validator("legacy_url_patterns")
    @classmethod
    def _check_legacy_patterns(cls, value: list[str]) -> list[str]:
        legacy_urls.compile_patterns(value)  # its ValueError names the setting and the shape
        return value

    @field_validator("metrics_token")
    @classmethod
    def _check_metrics_token(cls, value: str) -> str:
        # A secret an operator makes (e.g. `openssl rand -hex 32`), sent in a header.
        if value and not re.fullmatch(r"[\x21-\x7e]{16,200}", value):
            raise ValueError(
                "Setting metrics_token must be 16 to 200 visible ASCII characters "
                "(no spaces), or empty for none."
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
                raise ValueError(out_of_range(name, low, high, getattr(self, name)))
        if self.metrics_port and self.metrics_port == self.server_port:
            raise ValueError(
                f"Setting metrics_port must differ from server_port ({self.server_port})."
            )
        return self
