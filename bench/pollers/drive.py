"""The run of the pollers: every reader polling, one publisher POSTing articles at a steady
rate, and watchers of this process's event loop and of the web role's sockets, all until
the end of the run."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.pollers.poller import Poller
from bench.pollers.poller import Published
from bench.pollers.poller import Tally
from bench.pollers.profile import Profile
from bench.pollers.readers import Reader
from bench.service import Service
from bench.service import api_article


async def publish(
    base_url: str,
    token: str,
    articles: Iterator[dict[str, Any]],
    tally: Tally,
    every: float,
    stop: float,
) -> None:
    """POST one article every ``every`` seconds until ``stop`` (never two at once)."""
    loop = asyncio.get_running_loop()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    next_at = loop.time()
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
        for line in articles:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            if loop.time() >= stop:
                return
            next_at += every
            body = api_article(line) | {"published_at": datetime.now(UTC).isoformat()}
            item = Published(line["slug"])
            tally.published.append(item)
            try:
                response = await client.post("/api/v1/articles", json=body)
            except httpx.HTTPError as error:
                tally.publish_failed += 1
                tally.publish_error = tally.publish_error or repr(error)
                continue
            if response.status_code == 201:
                item.created = time.perf_counter()
            else:
                tally.publish_failed += 1
                tally.publish_error = tally.publish_error or (
                    f"{response.status_code} {response.text[:200]}"
                )


async def watch_loop(tally: Tally, stop: float) -> None:
    """How late this process's event loop wakes up (a busy client inflates latencies)."""
    loop = asyncio.get_running_loop()
    while loop.time() < stop:
        asked = loop.time()
        await asyncio.sleep(0.1)
        tally.loop_lag.append((loop.time() - asked - 0.1) * 1000)


def listen_queues(port: int) -> list[int]:
    """For each socket listening on ``port``, the connections the kernel has completed that
    the server has not accepted yet (a LISTEN socket's rx_queue in /proc/net/tcp)."""
    queues = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
            queues.append(int(fields[4].split(":")[1], 16))
    return queues


def open_sockets(pid: int) -> int:
    """How many sockets a process has open (its listening socket and its connections)."""
    count = 0
    with contextlib.suppress(OSError):
        for entry in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                count += os.readlink(entry).startswith("socket:")
    return count


async def watch_server(tally: Tally, port: int, workers: list[int], stop: float) -> None:
    """Once a second: connections waiting in the web role's accept queues, and each
    worker's open sockets (the most seen)."""
    loop = asyncio.get_running_loop()
    while loop.time() < stop:
        queued = sum(await asyncio.to_thread(listen_queues, port))
        tally.accept_queue_max = max(tally.accept_queue_max, queued)
        for pid in workers:
            sockets = await asyncio.to_thread(open_sockets, pid)
            tally.worker_sockets_max[pid] = max(tally.worker_sockets_max.get(pid, 0), sockets)
        await asyncio.sleep(1.0)


async def drive(
    profile: Profile,
    readers: list[Reader],
    service: Service,
    token: str,
    articles: Iterator[dict[str, Any]],
    seed: int,
    workers: list[int],
) -> tuple[Tally, float]:
    """Run the pollers and the publisher for ``profile.seconds``; a hard deadline cancels
    whatever is still running ``request_timeout + 5`` seconds after that."""
    tally = Tally()
    loop = asyncio.get_running_loop()
    rng = random.Random(seed)
    began = loop.time()
    stop = began + profile.ramp + profile.seconds
    tasks = [
        asyncio.create_task(
            Poller(reader, tally, "127.0.0.1", service.port).run(
                began + rng.uniform(0, profile.ramp),
                stop,
                (profile.think_min, profile.think_max),
                profile.request_timeout,
                random.Random(rng.random()),
            )
        )
        for reader in readers
    ]
    tasks.append(
        asyncio.create_task(
            publish(service.base_url, token, articles, tally, profile.publish_every, stop)
        )
    )
    tasks.append(asyncio.create_task(watch_loop(tally, stop)))
    tasks.append(asyncio.create_task(watch_server(tally, service.port, workers, stop)))
    _, pending = await asyncio.wait(tasks, timeout=stop + profile.request_timeout + 5 - began)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=5)
        tally.error("still running at the hard deadline", f"{len(pending)} tasks cancelled")
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            tally.error("load generator crashed", repr(task.exception()))
    return tally, loop.time() - began
