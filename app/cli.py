"""The ``broadsheet`` command: serve, web, scheduler, health, migrate, demo, token,
regenerate, import, export, stats."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from functools import wraps
from typing import Any
from typing import BinaryIO

import click

from app import liveness
from app.clock import Clock
from app.clock import system_clock
from app.errors import BroadsheetError
from app.errors import InvalidInput
from app.errors import SettingsError
from app.logs import configure_logging
from app.services import Services
from app.services import build_services
from app.settings import Settings
from app.settings import load_settings


@dataclass(frozen=True)
class CommandEnvironment:
    """What a command takes from whoever runs it: the clock. ``main(obj=...)`` (or
    ``CliRunner().invoke(main, ..., obj=...)``) passes another clock, as tests do."""

    clock: Clock = system_clock


def _clock() -> Clock:
    """The clock of the command being run (the system's when none was passed)."""
    context = click.get_current_context(silent=True)
    environment = context.find_object(CommandEnvironment) if context else None
    return environment.clock if environment else system_clock


@contextlib.contextmanager
def _services() -> Iterator[Services]:
    """The wired services for one command, on the command's clock; the database pool is
    closed afterwards."""
    try:
        services = build_services(clock=_clock())
    except BroadsheetError as error:
        raise click.ClickException(str(error)) from None
    configure_logging(services.settings)
    try:
        yield services
    finally:
        services.database.dispose()


def _domain_errors(command: Callable[..., Any]) -> Callable[..., Any]:
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


@click.group()
def main() -> None:
    """Broadsheet: a feed publisher."""


@main.command()
@_domain_errors
def migrate() -> None:
    """Bring the database schema up to date (safe to run at every deploy)."""
    with _services() as services:
        services.publisher.migrate()
        url = services.database.url.render_as_string()
    click.echo(f"database at the newest schema: {url}")


@main.command()
@_domain_errors
def demo() -> None:
    """Load the demo articles that are not there yet."""
    from app.demo import load_demo

    with _services() as services:
        added = load_demo(services.publisher, services.clock())
    click.echo(f"demo articles added: {added}")


@main.command()
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    help="Processes that render side by side  [default: one per CPU, at most 8].",
)
@_domain_errors
def regenerate(jobs: int | None) -> None:
    """Render every feed once, now, archive pages included (what the scheduler does at
    start when this version or a setting shown in feeds changed)."""
    from app.transfer import default_jobs

    with _services() as services:
        now = services.clock()
        services.renderer.mark_all_feeds_stale(now)
    count = jobs or default_jobs()
    if count == 1:
        reports = [_render_pass(now)]
    else:
        # Each process claims feeds a few at a time, as schedulers do, so they share the
        # work without rendering any feed twice.
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(count, mp_context=spawn) as pool:
            reports = list(pool.map(_render_pass, [now] * count))
    scopes, changed, failed = (sum(report[i] for report in reports) for i in range(3))
    click.echo(f"scopes rendered: {scopes}; documents changed: {changed}; failed: {failed}")
    if failed:
        raise SystemExit(1)


def _render_pass(now: datetime) -> tuple[int, int, int]:
    """One process's share of a regenerate: (scopes rendered, documents changed, failed)."""
    _exit_with_parent()
    with _services() as services:
        report = services.renderer.render_due_feeds(now)
    return len(report.scopes), len(report.changed), len(report.failed)


@main.command("export")
@click.option(
    "--output",
    "-o",
    default="-",
    show_default="stdout",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    help="Write to this file (replaced only when the export is complete).",
)
@_domain_errors
def export_command(output: str) -> None:
    """Write every live article as JSON Lines, in creation order (an imported file's
    articles in the order of its lines)."""
    from app.transfer import export_lines

    exported = 0
    with _services() as services, click.open_file(output, "wb", atomic=output != "-") as stream:
        for line in export_lines(services.publisher):
            stream.write(line.encode("utf-8") + b"\n")
            exported += 1
    click.echo(f"articles exported: {exported}", err=True)


@main.command("import")
@click.argument("source", type=click.File("rb"))
@click.option(
    "--batch-size",
    default=500,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Articles stored per transaction.",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    help="Processes for the content pipeline  [default: one per CPU, at most 8].",
)
@_domain_errors
def import_command(source: BinaryIO, batch_size: int, jobs: int | None) -> None:
    """Import articles from a JSON Lines file (or - for stdin), as made by export.

    Every line is checked and cleaned as the API does; bad lines and lines whose id or
    slug is taken are skipped and reported with their numbers. Exits 1 if any was.
    """
    from app.transfer import default_jobs
    from app.transfer import import_lines

    with _services() as services:
        report = import_lines(
            services.publisher,
            source,
            services.clock(),
            batch_size=batch_size,
            jobs=jobs or default_jobs(),
            on_skip=lambda problem: click.echo(str(problem), err=True),
        )
    click.echo(f"articles imported: {report.imported}; lines skipped: {len(report.skipped)}")
    if report.imported:
        click.echo(
            "feeds marked stale: the scheduler renders them; `broadsheet regenerate` does now",
            err=True,
        )
    if report.skipped:
        raise SystemExit(1)


@main.command()
def scheduler() -> None:
    """Run the scheduler role (renders feeds); one or two per site, never per web worker."""
    from app.jobs import add_heartbeat
    from app.jobs import build_scheduler

    with _services() as services, contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler = build_scheduler(services)
        add_heartbeat(scheduler, services)
        click.echo("scheduler running; Ctrl-C or SIGTERM stops it", err=True)
        # SIGTERM (docker stop, serve) stops it as Ctrl-C does. As a container's PID 1 it
        # would otherwise be ignored (the kernel sends PID 1 no signal it does not handle)
        # until the SIGKILL 10 s later, which leaves the heartbeat behind.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            scheduler.start()
        finally:
            if scheduler.running:
                scheduler.shutdown()  # lets running jobs end: no heartbeat after the withdraw
            # Stopped on purpose: `broadsheet health` must not take it for a stuck one.
            liveness.withdraw(services.settings, liveness.SCHEDULER)


@main.command()
def web() -> None:
    """Run the web role: granian (or gunicorn, with server.kind = "gunicorn").

    The server runs as a child of this process, which passes on every signal an operator
    sends it and exits with the server's status. A server that stops because it was asked
    to (SIGTERM, SIGINT, SIGQUIT) or that exits 0 takes the role's health mark with it; one
    that dies otherwise leaves it, so ``broadsheet health`` reports the role failing.
    """
    with _services() as services:
        settings = services.settings
        command = _web_command(settings)
        _announce_web(settings)
    code, asked_to_stop = _run_server(command)
    if code == 0 or asked_to_stop:
        liveness.withdraw(settings, liveness.WEB)
    # As a shell reports it: a server ended by signal N exits 128 + N.
    raise SystemExit(code if code >= 0 else 128 - code)


# Signals that stop granian and gunicorn; the rest reload, resize or reopen logs (gunicorn).
_STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGQUIT})
_FORWARDED_SIGNALS = _STOP_SIGNALS | {
    signal.SIGHUP,
    signal.SIGUSR1,
    signal.SIGUSR2,
    signal.SIGTTIN,
    signal.SIGTTOU,
}


def _run_server(command: list[str]) -> tuple[int, bool]:
    """Run ``command`` until it exits, passing on the signals of :data:`_FORWARDED_SIGNALS`;
    its return code (negative: the signal that ended it) and whether this process was asked
    to stop meanwhile.

    The server runs in a process group of its own, so a signal sent to this process's
    group (Ctrl-C in a terminal, a supervisor's ``kill`` of the group) reaches it once,
    through this process: granian's workers signalled directly exit before their parent
    knows it is stopping, and it respawns them and then hangs. The server is asked to
    stop if this process dies without passing anything on (SIGKILL).
    """
    server: subprocess.Popen[bytes] | None = None
    asked_to_stop = False

    def forward(signum: int, frame: object) -> None:
        nonlocal asked_to_stop
        asked_to_stop = asked_to_stop or signum in _STOP_SIGNALS
        if server is not None:
            with contextlib.suppress(ProcessLookupError):
                server.send_signal(signum)

    # Handlers first: a signal that arrives while the server starts must not end this
    # process (the default action) and leave the server running without it.
    for signum in _FORWARDED_SIGNALS:
        signal.signal(signum, forward)
    server = subprocess.Popen(command, process_group=0, preexec_fn=_stop_with_parent)
    if asked_to_stop:  # arrived before the server existed to receive it
        server.terminate()
    return server.wait(), asked_to_stop


def _stop_with_parent() -> None:
    """In a child before it runs its command: SIGTERM it when its parent dies (Linux's
    PR_SET_PDEATHSIG, prctl(2)); elsewhere nothing."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _announce_web(settings: Settings) -> None:
    """Leave the web role's mark for ``broadsheet health``, or stop: a server that its
    health check cannot find would be restarted over and over."""
    try:
        liveness.announce_web(settings)
    except OSError as error:
        raise click.ClickException(
            f"cannot write the health mark in {liveness.health_directory(settings)} "
            f"(setting health_dir, BROADSHEET_HEALTH_DIR): {error}"
        ) from None


@main.command()
def health() -> None:
    """Exit 0 if the roles running on this machine are healthy, 1 if not (for HEALTHCHECK).

    The web role is healthy while its /healthz answers 200 within 2 s; the scheduler while
    its heartbeat is under 30 s old. No role running here is unhealthy.
    """
    try:
        settings = load_settings()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    roles = liveness.check_roles(settings)
    if not roles:
        raise click.ClickException(
            f"no web or scheduler role has started here "
            f"(no mark in {liveness.health_directory(settings)})"
        )
    for role in roles:
        click.echo(f"{role.role}: {'ok' if role.healthy else 'FAILING'}: {role.detail}")
    if not all(role.healthy for role in roles):
        raise SystemExit(1)


def _exit_with_parent() -> None:
    """End this worker process as soon as the process that started it is gone: a stopped
    or killed ``regenerate`` must not leave renders running behind it."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _web_command(settings: Settings) -> list[str]:
    """The command line of the web role: granian (default) or gunicorn (server_kind)."""
    address = [settings.server_host, str(settings.server_port)]
    if settings.server_kind == "gunicorn":
        return [
            sys.executable, "-m", "gunicorn",
            "--bind", ":".join(address),
            "--worker-class", "gthread",
            "--workers", str(settings.server_workers),
            "--threads", str(settings.server_threads),
            "app.wsgi:app",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "granian",
        "--interface", "wsgi",
        "--host", address[0],
        "--port", address[1],
        "--workers", str(settings.server_workers),
        "--blocking-threads", str(settings.server_threads),
        # granian's default (backlog / workers: 512) leaves pollers that hold keep-alive
        # connections unaccepted once a worker has that many open.
        "--backpressure", str(settings.server_max_connections),
        "--backlog", str(max(1024, settings.server_max_connections)),
        # A worker that has not stopped 10 s after SIGTERM is killed: granian would otherwise
        # wait for it forever, and a stopping server must stop.
        "--workers-kill-timeout", "10",
        "--no-ws",
        "--respawn-failed-workers",
        "--log-level", "warning",
        "app.wsgi:app",
    ]  # fmt: skip


@main.command()
@click.option("--demo", "with_demo", is_flag=True, help="Load the demo articles first.")
@_domain_errors
def serve(with_demo: bool) -> None:
    """Migrate, then run the web server and the scheduler together until Ctrl-C."""
    with _services() as services:
        services.publisher.migrate()
        if with_demo:
            from app.demo import load_demo

            added = load_demo(services.publisher, services.clock())
            click.echo(f"demo articles added: {added}", err=True)
        settings = services.settings
        _announce_web(settings)
    # Each child in a session of its own: granian signals its whole process group when it
    # stops, and Ctrl-C reaches the children through us, in order.
    children = {
        "scheduler": subprocess.Popen(
            [sys.executable, "-m", "app.cli", "scheduler"], start_new_session=True
        ),
        settings.server_kind: subprocess.Popen(_web_command(settings), start_new_session=True),
    }
    click.echo(f"Broadsheet on {settings.base_url}/ (Ctrl-C stops it)", err=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while all(child.poll() is None for child in children.values()):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        # Ask each role's main process to stop: granian stops its own workers in order (a
        # worker signalled directly can be respawned by a parent that has not stopped yet).
        for child in children.values():
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)
        for role, child in children.items():
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                click.echo(f"{role} did not stop in 20 s; killed", err=True)
                child.kill()
                child.wait()
            # Whatever is left of the role's process group (a worker that outlived its
            # parent keeps the port) goes with it.
            _signal_group(child, signal.SIGKILL)
    failed = {
        role: child.returncode
        for role, child in children.items()
        if child.returncode not in (0, -signal.SIGTERM, None)
    }
    if settings.server_kind not in failed:
        # Stopped on purpose: `broadsheet health` must not take it for a dead server.
        liveness.withdraw(settings, liveness.WEB)
    for role, code in failed.items():
        click.echo(f"{role} exited with {code}", err=True)
    if failed:
        raise SystemExit(1)


@main.command()
@click.option("--days", default=30, show_default=True, help="How many UTC days to add up.")
@_domain_errors
def stats(days: int) -> None:
    """Who polls each feed: requests, 304 share, bytes, client families, subscribers."""
    with _services() as services:
        feeds = services.publisher.poll_stats(services.clock(), days)
    if not feeds:
        click.echo("no feed requests counted yet")
        return
    click.echo(f"{'feed':<40} {'requests':>9} {'304':>6} {'429':>6} {'bytes':>12} {'subs':>6}")
    for feed in feeds:
        click.echo(
            f"{feed.feed_key:<40} {feed.requests:>9} {feed.not_modified_share:>6.0%} "
            f"{feed.throttled:>6} {feed.bytes_sent:>12} {feed.subscribers:>6}"
        )
        for client in feed.clients:
            subscribers = "" if client.subscribers is None else f" ({client.subscribers} subs)"
            click.echo(f"    {client.family:<36} {client.requests:>9}{subscribers}")


def _signal_group(child: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signum)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@main.group()
def token() -> None:
    """Create, list and revoke API tokens."""


_LIFETIME_UNITS = {"h": "hours", "d": "days"}


class Lifetime(click.ParamType[timedelta | None]):
    """A token lifetime: hours or days, as ``12h`` or ``90d``; ``never`` for none."""

    name = "lifetime"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta | None:
        if isinstance(value, timedelta) or value is None:
            return value
        text = str(value).strip().lower()
        if text == "never":
            return None
        number, unit = text[:-1], _LIFETIME_UNITS.get(text[-1:])
        if unit is None or not (number.isascii() and number.isdigit() and len(number) <= 6):
            self.fail(f"{value!r} is not a lifetime such as 12h, 90d or never", param, ctx)
        return timedelta(**{unit: int(number)})


@token.command("create")
@click.option("--name", required=True, help="Who or what uses the token, e.g. the CMS.")
@click.option(
    "--expires-in",
    type=Lifetime(),
    default="never",
    show_default=True,
    help="How long the token works: hours or days, e.g. 12h or 90d (at most 100 years).",
)
@_domain_errors
def token_create(name: str, expires_in: timedelta | None) -> None:
    """Create a token and print its secret (shown this once; only a hash is stored)."""
    with _services() as services:
        created, secret = services.access.create_token(name, services.clock(), expires_in)
    click.echo(secret)
    until = "" if created.expires_at is None else f" (expires {_minute(created.expires_at)})"
    click.echo(
        f"token {created.name!r} created{until}; store it now, it is not shown again", err=True
    )


@token.command("list")
@_domain_errors
def token_list() -> None:
    """List tokens with their state and expiry (times in UTC)."""
    with _services() as services:
        tokens = services.access.list_tokens()
        now = services.clock()
    for item in tokens:
        if item.revoked_at is not None:
            state = f"revoked {_minute(item.revoked_at)}"
        elif item.active(now):
            state = "active"
        else:
            state = "expired"
        expires = item.expires_at
        expiry = "never expires" if expires is None else f"expires {_minute(expires)}"
        click.echo(f"{item.name}\tcreated {_minute(item.created_at)}\t{state}\t{expiry}")


def _minute(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


@token.command("revoke")
@click.option("--name", required=True)
@_domain_errors
def token_revoke(name: str) -> None:
    """Revoke a token; it stops working at once."""
    with _services() as services:
        services.access.revoke_token(name, services.clock())
    click.echo(f"token {name!r} revoked")


if __name__ == "__main__":
    main()
