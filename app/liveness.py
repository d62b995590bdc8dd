"""What ``broadsheet health`` checks: the mark each running role leaves on its machine.

A container runs one role, chosen by its command, and its health check is a new process
that cannot see that command. So each long-running role leaves a file named after itself
in ``health_dir`` (a directory of the machine or container, never shared between them):

- ``web`` holds the URL of the server's ``/healthz``, written when ``broadsheet web`` (or
  ``serve``) starts and removed when its server stops on purpose; the role is healthy
  while that URL answers 200 within :data:`REQUEST_TIMEOUT_SECONDS`.
- ``scheduler`` is touched by the scheduler every :data:`HEARTBEAT_SECONDS` and removed
  when it stops; the role is healthy while the file is younger than
  :data:`HEARTBEAT_MAX_AGE_SECONDS`.

``migrate`` and the one-shot commands leave nothing: they end when their work is done.
"""

from __future__ import annotations

import http.client
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from app.settings import Settings

WEB = "web"
SCHEDULER = "scheduler"
ROLES = (WEB, SCHEDULER)

HEARTBEAT_SECONDS = 5.0
# Six missed beats: the scheduler runs a tick up to 30 s late (misfire_grace_time in
# app.jobs) before it counts as stuck.
HEARTBEAT_MAX_AGE_SECONDS = 30.0
REQUEST_TIMEOUT_SECONDS = 2.0

# Addresses that mean "every interface": the check asks the loopback of the same family.
_WILDCARD_HOSTS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104


@dataclass(frozen=True)
class RoleHealth:
    """One role found on this machine: whether it is healthy, and why in words."""

    role: str
    healthy: bool
    detail: str


def health_directory(settings: Settings) -> Path:
    """``health_dir``, or when empty a directory of this user's in the temporary directory
    (``/tmp/broadsheet-<uid>``): each container has its own."""
    if settings.health_dir:
        return Path(settings.health_dir)
    return Path(tempfile.gettempdir()) / f"broadsheet-{os.getuid()}"


def _role_file(settings: Settings, role: str) -> Path:
    directory = health_directory(settings)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory / role


def healthz_url(settings: Settings) -> str:
    """The ``/healthz`` URL of the web server these settings start, as seen from this
    machine: a wildcard ``server_host`` is asked on the loopback address."""
    host = _WILDCARD_HOSTS.get(settings.server_host, settings.server_host)
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal (RFC 3986 section 3.2.2)
    return f"http://{host}:{settings.server_port}/healthz"


def announce_web(settings: Settings) -> None:
    """Record that this machine runs the web role, and where its ``/healthz`` answers.

    Raises:
        OSError: the health directory cannot be written.
    """
    path = _role_file(settings, WEB)
    partial = path.with_name(f".{WEB}.{os.getpid()}")
    partial.write_text(healthz_url(settings), encoding="utf-8")
    partial.replace(path)  # a check never reads half a URL


def beat(settings: Settings) -> None:
    """Record that the scheduler is alive now (creates the mark on the first beat).

    Raises:
        OSError: the health directory cannot be written.
    """
    path = _role_file(settings, SCHEDULER)
    path.touch()  # an existing file gets the current modification time


def withdraw(settings: Settings, role: str) -> None:
    """Remove ``role``'s mark: the role has stopped on purpose."""
    (health_directory(settings) / role).unlink(missing_ok=True)


def check_roles(settings: Settings) -> list[RoleHealth]:
    """The health of every role that left its mark here, in :data:`ROLES` order; empty when
    none did (nothing has started, or only one-shot commands ran)."""
    directory = health_directory(settings)
    found: list[RoleHealth] = []
    for role in ROLES:
        path = directory / role
        try:
            if role == WEB:
                found.append(_check_web(path.read_text(encoding="utf-8").strip()))
            else:
                found.append(_check_heartbeat(path.stat().st_mtime))
        except FileNotFoundError:
            continue
    return found


def _check_web(url: str) -> RoleHealth:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or not parts.port:
        return RoleHealth(WEB, False, f"the web role's mark holds no URL: {url!r}")
    connection = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=REQUEST_TIMEOUT_SECONDS
    )
    try:
        connection.request("GET", parts.path, headers={"User-Agent": "broadsheet-health"})
        status = connection.getresponse().status
    except OSError as error:
        return RoleHealth(WEB, False, f"GET {url}: {error}")
    finally:
        connection.close()
    return RoleHealth(WEB, status == 200, f"GET {url}: {status}")


def _check_heartbeat(modified: float) -> RoleHealth:
    age = time.time() - modified
    if age > HEARTBEAT_MAX_AGE_SECONDS:
        return RoleHealth(
            SCHEDULER,
            False,
            f"last heartbeat {age:.0f} s ago (over {HEARTBEAT_MAX_AGE_SECONDS:.0f} s)",
        )
    return RoleHealth(SCHEDULER, True, f"last heartbeat {max(age, 0):.0f} s ago")
