"""What every command shares: the clock it runs on, its wired services, and domain errors
turned into one-line messages."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from functools import wraps
from typing import Any

import click

from app.clock import Clock
from app.clock import system_clock
from app.errors import BroadsheetError
from app.errors import InvalidInput
from app.logs import configure_logging
from app.services import Services
from app.services import build_services


@dataclass(frozen=True)
class CommandEnvironment:
    """What a command takes from whoever runs it: the clock. ``main(obj=...)`` (or
    ``CliRunner().invoke(main, ..., obj=...)``) passes another clock, as tests do."""

    clock: Clock = system_clock


def command_clock() -> Clock:
    """The clock of the command being run (the system's when none was passed)."""
    context = click.get_current_context(silent=True)
    environment = context.find_object(CommandEnvironment) if context else None
    return environment.clock if environment else system_clock


@contextlib.contextmanager
def command_services() -> Iterator[Services]:
    """The wired services for one command, on the command's clock; the database pool is
    closed afterwards."""
    try:
        services = build_services(clock=command_clock())
    except BroadsheetError as error:
        raise click.ClickException(str(error)) from None
    configure_logging(services.settings)
    try:
        yield services
    finally:
        services.database.dispose()


def domain_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InvalidInput as error:
            fields = "; ".join(
                f"{problem.field}: {problem.message}" if problem.field else problem.message
                for problem in error.errors
            )
            raise click.ClickException(f"{error.detail} {fields}") from None
        except BroadsheetError as error:
            raise click.ClickException(str(error)) from None

    return wrapper


def exit_with_parent() -> None:
    """End this worker process as soon as the process that started it is gone: a stopped
    or killed ``regenerate`` must not leave renders running behind it."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
