"""A Hugging Face-like file server on 127.0.0.1 for download tests (one thread, stopped by the test)."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHUNK = 64 * 1024


def fake_checkpoint(path: Path, size: int) -> str:
    """Write ``size`` deterministic bytes (a counter pattern) in chunks; return their sha256."""
    digest, block = hashlib.sha256(), bytes(range(256)) * 4096  # 1 MiB
    with open(path, "wb") as fh:
        left = size
        while left:
            part = block[:min(left, len(block))]
            fh.write(part)
            digest.update(part)
            left -= len(part)
    return digest.hexdigest()


@dataclass
class Behaviour:
    """What the server does to the next transfers.

    Attributes:
        drop_after: close the connection after this many body bytes of the next GET (then reset).
        corrupt: flip the byte at this offset of every body sent.
        ignore_range: answer every GET with the whole file (200), as servers without Range support do.
        ranges: the ``Range`` header of every GET (None when absent).
    """

    drop_after: int | None = None
    corrupt: int | None = None
    ignore_range: bool = False
    ranges: list[str | None] = field(default_factory=list)


class HubServer:
    """Serves ``files`` at ``/{repo}/resolve/main/{name}`` with Range support and LFS headers."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files
        self.behaviour = Behaviour()
        handler = type("Handler", (_Handler,), {"hub": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.timeout = 5
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> HubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    hub: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def _file(self) -> Path | None:
        return self.hub.files.get(self.path.split("?", 1)[0].lstrip("/"))

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        path = self._file()
        if path is None:
            self.send_error(404)
            return
        self.send_response(302)
        self.send_header("Location", self.path)
        self.send_header("X-Linked-Etag", f'"{hashlib.sha256(path.read_bytes()).hexdigest()}"')
        self.send_header("X-Linked-Size", str(path.stat().st_size))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        path = self._file()
        if path is None:
            self.send_error(404)
            return
        b = self.hub.behaviour
        b.ranges.append(self.headers.get("Range"))
        size = path.stat().st_size
        start = int(self.headers["Range"].split("=")[1].split("-")[0]) if self.headers.get("Range") else 0
        start = 0 if b.ignore_range else start
        if start >= size:
            self.send_error(416)
            return
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.send_header("Content-Length", str(size - start))
        self.end_headers()
        limit, b.drop_after = b.drop_after, None
        sent, offset = 0, start
        with open(path, "rb") as fh:
            fh.seek(start)
            for block in iter(lambda: fh.read(CHUNK), b""):
                if b.corrupt is not None and offset <= b.corrupt < offset + len(block):
                    i = b.corrupt - offset
                    block = block[:i] + bytes([block[i] ^ 0xFF]) + block[i + 1:]
                if limit is not None and sent + len(block) > limit:
                    self.wfile.write(block[:limit - sent])
                    self.close_connection = True
                    return
                self.wfile.write(block)
                sent += len(block)
                offset += len(block)
