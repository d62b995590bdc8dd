"""nginx serving a feed's exact bytes as static files: the reference the targets are ratios of.

nginx runs as a child process (``daemon off``) with its own prefix, config, pid file, logs
and temp paths in a scratch directory, on a free port of 127.0.0.1. ``gzip_static`` serves
the pre-compressed bytes to clients that take gzip, with ``Vary: Accept-Encoding``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench.procs import Child
from bench.procs import free_port
from bench.procs import tool_path
from bench.procs import wait_http

_CONFIG = """\
worker_processes auto;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    client_body_temp_path {root}/tmp/client_body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    types {{
        application/rss+xml rss;
        application/atom+xml atom;
        application/feed+json json;
    }}
    charset utf-8;
    charset_types application/rss+xml application/atom+xml application/feed+json;
    server {{
        listen 127.0.0.1:{port};
        root {root}/www;
        gzip_static on;
        gzip_vary on;
        location / {{
            add_header Cache-Control "public, max-age=60";
        }}
    }}
}}
"""


@dataclass
class StaticServer:
    """A running nginx and the base URL it serves."""

    child: Child
    base_url: str

    def stop(self) -> None:
        self.child.stop()


def start_nginx(
    root: Path, files: dict[str, bytes], gzipped: dict[str, bytes], mtime: datetime
) -> StaticServer:
    """Serve ``files`` (path -> bytes) and their ``.gz`` twins from ``root``."""
    www = root / "www"
    for sub in ("tmp", "www"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for path, body in files.items():
        target = www / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        gz = target.with_name(target.name + ".gz")
        gz.write_bytes(gzipped[path])
        stamp = mtime.timestamp()
        os.utime(target, (stamp, stamp))
        os.utime(gz, (stamp, stamp))
    # nginx's workers run as an unprivileged user: let them read the files.
    for directory in [root, *root.rglob("*")]:
        directory.chmod(0o755 if directory.is_dir() else 0o644)
    port = free_port()
    config = root / "nginx.conf"
    config.write_text(_CONFIG.format(root=root, port=port), encoding="utf-8")
    child = Child(
        "nginx",
        [tool_path("nginx"), "-p", str(root), "-c", str(config), "-g", "daemon off;"],
        root / "nginx.log",
    )
    base_url = f"http://127.0.0.1:{port}"
    first = next(iter(files))
    wait_http(base_url + first, 15, child)
    return StaticServer(child, base_url)
