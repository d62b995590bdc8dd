"""Where settings come from, in order: code defaults, a TOML file (``config/broadsheet.toml``
or the file ``BROADSHEET_CONFIG`` names), ``BROADSHEET_*`` variables, then overrides.

:func:`load_settings` merges them and lets :class:`~app.settings.Settings` check the result;
the first problem becomes one :class:`~app.errors.SettingsError` that names the setting.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import TomlConfigSettingsSource

from app.errors import SettingsError
from app.settings import Settings
from app.settings import out_of_range

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


#: Sections that are one setting, a table of tables: ``[collections.destaques]``.
_WHOLE_SECTIONS = ("collections",)


class _SectionedTomlSource(TomlConfigSettingsSource):
    """The settings file, whose ``[feed] item_limit = 7`` sets ``feed_item_limit``."""

    def _read_file(self, path: Path | Traversable) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for section, table in super()._read_file(path).items():
            if not isinstance(table, dict):
                raise SettingsError(f"{path}: {section!r} must be a [section] of settings.")
            if section in _WHOLE_SECTIONS:
                values[section] = table
                continue
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
        return SettingsError(out_of_range(name, low, high, kind(problem["input"])))
    return SettingsError(
        f"Setting {name} ({ENV_PREFIX}{name.upper()}) must be a {kind.__name__}, "
        f"got {problem['input']!r}."
    )
