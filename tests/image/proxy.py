"""A real HTTP reverse proxy in front of the test registry that records requests and can misbehave.

Modes for blob GETs: `cut_after=N` sends N body bytes then drops the connection (once, or always with
`cut_always`); `stall_after=N` sends N bytes then hangs until stopped; `chunk_delay=S` sleeps S seconds
after each 64 KiB chunk (a slow link, so a test can kill a pull at many points). `redirect_blobs_to` answers
blob GETs with a 307 to another base URL. Every request's path and headers are recorded.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization"}


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Behaviour:
    cut_after: int | None = None
    cut_always: bool = False
    stall_after: int | None = None
    redirect_blobs_to: str | None = None
    chunk_delay: float = 0.0
    cuts: int = 0
    released: threading.Event = field(default_factory=threading.Event)


class Proxy:
    """ThreadingHTTPServer on 127.0.0.1:0 forwarding to `upstream` (http://host:port)."""

    def __init__(self, upstream: str, **behaviour: Any) -> None:
        self.upstream = upstream
        self.behaviour = Behaviour(**behaviour)
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    def ranges(self) -> list[str]:
        return [r.headers.get("Range", "") for r in self.requests if "/blobs/" in r.path and r.method == "GET"]

    def stop(self) -> None:
        self.behaviour.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._forward("GET")

        def do_HEAD(self) -> None:
            self._forward("HEAD")

        def _forward(self, method: str) -> None:
            with proxy.lock:
                proxy.requests.append(Recorded(method, self.path, dict(self.headers.items())))
            b = proxy.behaviour
            is_blob = method == "GET" and "/blobs/sha256:" in self.path
            if is_blob and b.redirect_blobs_to:
                self.send_response(307)
                self.send_header("Location", b.redirect_blobs_to + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP | {"host"}}
            up = requests.request(method, proxy.upstream + self.path, headers=headers, stream=True,
                                  allow_redirects=False, timeout=10)
            self.send_response(up.status_code)
            for k, v in up.raw.headers.items():
                if k.lower() not in HOP:
                    self.send_header(k, v)
            self.end_headers()
            if method == "HEAD":
                return
            self._body(up, is_blob)

        def _body(self, up: requests.Response, is_blob: bool) -> None:
            b = proxy.behaviour
            limit = None
            if is_blob and b.stall_after is not None:
                limit = b.stall_after
            elif is_blob and b.cut_after is not None and (b.cut_always or b.cuts == 0):
                limit = b.cut_after
            sent = 0
            for chunk in up.raw.stream(1 << 16, decode_content=False):
                if limit is not None and sent + len(chunk) >= limit:
                    self.wfile.write(chunk[: limit - sent])
                    self.wfile.flush()
                    if b.stall_after is not None:
                        b.released.wait(60)
                    b.cuts += 1
                    self.close_connection = True
                    up.close()
                    return
                self.wfile.write(chunk)
                sent += len(chunk)
                if is_blob and b.chunk_delay:
                    time.sleep(b.chunk_delay)
            up.close()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
