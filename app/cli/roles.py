"""The commands that run the service's roles: serve (web and scheduler together), web,
scheduler, and health, which checks the roles running on this machine."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time

import click

from app import liveness
from app.cli.common import command_services
from app.cli.common import domain_errors
from app.cli.common import interrupt
from app.cli.exposition import role_metrics
from app.cli.exposition import scheduler_metrics
from app.errors import SettingsError
from app.settings import Settings
from app.settings_sources import load_settings


@click.command()
def scheduler() -> None:
    """Run the scheduler role (renders feeds); one or two per site, never per web worker."""
    from app.jobs import add_heartbeat
    from app.jobs import build_scheduler

    with (
        command_services() as services,
        contextlib.suppress(KeyboardInterrupt, SystemExit),
        contextlib.ExitStack() as stack,
    ):
        scheduler = build_scheduler(services)
        add_heartbeat(scheduler, services)
        stack.enter_context(scheduler_metrics(services))
        click.echo("scheduler running; Ctrl-C or SIGTERM stops it", err=True)
        # SIGTERM (docker stop, serve) stops it as Ctrl-C does. As a container's PID 1 it
        # would otherwise be ignored (the kernel sends PID 1 no signal it does not handle)
        # until the SIGKILL 10 s later, which leaves the heartbeat behind.
        signal.signal(signal.SIGTERM, interrupt)
        try:
            scheduler.start()
        finally:
            if scheduler.running:
                scheduler.shutdown()  # lets running jobs end: no heartbeat after the withdraw
            # Stopped on purpose: `broadsheet health` must not take it for a stuck one.
            liveness.withdraw(services.settings, liveness.SCHEDULER)


@click.command()
def web() -> None:
    """Run the web role: granian (or gunicorn, with server.kind = "gunicorn").

    The server runs as a child of this process, which passes on every signal an operator
    sends it and exits with the server's status. A server that stops because it was asked
    to (SIGTERM, SIGINT, SIGQUIT) or that exits 0 takes the role's health mark with it; one
    that dies otherwise leaves it, so ``broadsheet health`` reports the role failing.
    """
    with command_services() as services:
        settings = services.settings
        command = _web_command(settings)
        _announce_web(settings)
        with role_metrics(services):
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


@click.command()
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
            # child_exit: a dead worker's metrics files are marked (app.cli.exposition).
            "--config", "python:app.gunicorn_hooks",
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


@click.command()
@click.option("--demo", "with_demo", is_flag=True, help="Load the demo articles first.")
@domain_errors
def serve(with_demo: bool) -> None:
    """Migrate, then run the web server and the scheduler together until Ctrl-C."""
    with command_services() as services:
        services.operations.migrate()
        if with_demo:
            from app.demo import load_demo

            added = load_demo(services.articles, services.clock())
            click.echo(f"demo articles added: {added}", err=True)
        settings = services.settings
        _announce_web(settings)
        metrics = contextlib.ExitStack()  # closed once the children have stopped
        metrics.enter_context(role_metrics(services))
    # Each child in a session of its own: granian signals its whole process group when it
    # stops, and Ctrl-C reaches the children through us, in order.
    children = {
        "scheduler": subprocess.Popen(
            [sys.executable, "-m", "app.cli", "scheduler"], start_new_session=True
        ),
        settings.server_kind: subprocess.Popen(_web_command(settings), start_new_session=True),
    }
    click.echo(f"Broadsheet on {settings.base_url}/ (Ctrl-C stops it)", err=True)
    signal.signal(signal.SIGTERM, interrupt)
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
        metrics.close()
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


def _signal_group(child: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signum)
