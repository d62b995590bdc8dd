"""A small HTTP/1.1 client for the pollers: one keep-alive connection, exact control of
every header, and the framing of every answer checked (status line, headers, chunked or
sized bodies)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


class ProtocolError(Exception):
    """The server's answer is not valid HTTP/1.1 framing."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Connection:
    """One keep-alive connection to the server, opened on first use and again after the
    server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0
        self.idle_since = time.perf_counter()

    async def get(self, path: str, headers: list[tuple[str, str]]) -> tuple[Answer, bool]:
        """GET ``path``; the answer, and whether it was sent again on a new connection
        because the server had closed the kept-alive one before answering (RFC 9112
        9.3.1 lets a client retry an idempotent request then)."""
        if self.reader is None or self.reader.at_eof():
            await self.open()
        reused = self.used > 0
        try:
            return await self._exchange(path, headers), False
        except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError) as error:
            partial = getattr(error, "partial", b"")
            if not reused or partial:
                raise
        await self.open()
        return await self._exchange(path, headers), True

    async def open(self) -> None:
        self.close()
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, limit=1 << 20
        )
        self.used = 0
        self.idle_since = time.perf_counter()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None
        self.used = 0

    async def _exchange(self, path: str, headers: list[tuple[str, str]]) -> Answer:
        assert self.reader is not None and self.writer is not None
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await self.writer.drain()
        self.used += 1
        answer = await self._read_answer()
        self.idle_since = time.perf_counter()
        if answer.headers.get("connection", "").lower() == "close":
            self.close()
        return answer

    async def _read_answer(self) -> Answer:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"bad status line {status_line!r}")
        headers: dict[str, str] = {}
        for line in header_lines:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise ProtocolError(f"bad header line {line!r}")
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
        status = int(parts[1])
        if status == 304 or status == 204 or status < 200:
            return Answer(status, headers, b"")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return Answer(status, headers, await self._read_chunked())
        if "content-length" in headers:
            length = int(headers["content-length"])
            return Answer(status, headers, await self.reader.readexactly(length))
        body = await self.reader.read()  # no length: the body ends with the connection
        self.close()
        return Answer(status, headers, body)

    async def _read_chunked(self) -> bytes:
        assert self.reader is not None
        chunks: list[bytes] = []
        for _ in range(1_000_000):
            size_line = await self.reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while (await self.reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailer fields
                return b"".join(chunks)
            chunks.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)
        raise ProtocolError("over a million chunks")
