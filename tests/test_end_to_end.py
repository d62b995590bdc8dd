"""The whole service as a user runs it: `broadsheet serve --demo` (gunicorn + scheduler
processes), a token from the CLI, an article over the API, feeds over real HTTP."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.feedcheck import assert_valid_atom
from tests.feedcheck import assert_valid_json_feed
from tests.feedcheck import assert_valid_rss
from tests.live import free_port
from tests.live import run_cli
from tests.live import service_environment

FEEDS = ("/feed.rss", "/feed.atom", "/feed.json")


@pytest.fixture
def environment(database_url: str, tmp_path: Path) -> dict[str, str]:
    return service_environment(
        database_url, free_port(), SERVER_WORKERS="2", FEED_REGENERATE_SECONDS="30"
    )


@contextmanager
def running_service(env: dict[str, str], cwd: Path) -> Iterator[httpx.Client]:
    """`broadsheet serve --demo` until the block ends; yields a client once feeds answer."""
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--demo"],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    base = env["BROADSHEET_SITE_BASE_URL"]
    try:
        with httpx.Client(base_url=base, timeout=5) as client:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                try:
                    if client.get("/feed.rss").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the service did not start in 60 s"
                time.sleep(0.2)
            yield client
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _, errors = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, errors = process.communicate()
    assert process.returncode == 0, errors


def test_publish_poll_restart(environment: dict[str, str], tmp_path: Path) -> None:
    with running_service(environment, tmp_path) as client:
        demo = assert_valid_json_feed(client.get("/feed.json").content)
        assert len(demo["items"]) == 10  # twelve demo articles: one draft, one scheduled
        secret = run_cli(environment, tmp_path, "token", "create", "--name", "e2e").strip()

        article = {
            "title": "Enchente atinge três bairros de São Lucas; prefeitura abre abrigos",
            "summary": "Chuva de 140 mm em seis horas fez o rio transbordar.",
            "body": '**Noite longa.** A água subiu.\n\n![Rua](/r.jpg "Rua | Foto: Lia")',
            "authors": [{"name": "Marta Nogueira", "email": "marta@example.org"}],
            "categories": ["Cidades", "Clima"],
            "tags": ["chuva"],
            "image": {
                "url": "/static/demo/waves.svg",
                "type": "image/svg+xml",
                "length": 1234,
                "width": 1200,
                "height": 675,
                "caption": "O rio Claro acima da cota de alerta.",
                "credit": "Foto: Lia Prado",
            },
            "published_at": datetime.now(UTC).isoformat(),
        }
        etags = {path: client.get(path).headers["etag"] for path in FEEDS}
        created_at = time.monotonic()
        response = client.post(
            "/api/v1/articles", json=article, headers={"Authorization": f"Bearer {secret}"}
        )
        assert response.status_code == 201, response.text
        created = response.json()
        pending = set(FEEDS)
        while pending:
            for path in list(pending):
                if created["id"] in client.get(path).text:
                    pending.discard(path)
            # The goal is 5 s (about 1 s measured on a quiet machine); a loaded CI machine
            # gets some slack so that the test guards correctness, not speed.
            assert time.monotonic() - created_at < 15, f"not in {pending} within 15 s"
            time.sleep(0.1)
        latency = time.monotonic() - created_at
        print(f"article in all three feeds {latency:.2f} s after the 201")

        rss = assert_valid_rss(client.get("/feed.rss").content)
        atom = assert_valid_atom(client.get("/feed.atom").content)
        assert rss.entries[0].id == atom.entries[0].id == created["id"]
        assert "Foto: Lia Prado" in client.get("/feed.atom").text
        assert client.get("/category/clima/feed.atom").status_code == 200
        page = client.get(created["url"].removeprefix(environment["BROADSHEET_SITE_BASE_URL"]))
        assert page.status_code == 200
        assert "Enchente atinge três bairros" in page.text

        for path in FEEDS:
            current = client.get(path)
            assert current.headers["etag"] != etags[path]
            etags[path] = current.headers["etag"]
            repeat = client.get(path, headers={"If-None-Match": etags[path]})
            assert repeat.status_code == 304
        identity = {"Accept-Encoding": "identity"}
        identity_etag = client.get("/feed.rss", headers=identity).headers["etag"]

    with running_service(environment, tmp_path) as client:
        for path in FEEDS:
            assert client.get(path).headers["etag"] == etags[path]
            assert client.get(path, headers={"If-None-Match": etags[path]}).status_code == 304
        assert client.get("/feed.rss", headers=identity).headers["etag"] == identity_etag
        items = json.loads(client.get("/feed.json").content)["items"]
        assert [item["id"] for item in items].count(created["id"]) == 1
