"""Transport against small real HTTP servers: retries, Retry-After, redirects that drop Authorization."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from minidock.config import Settings
from minidock.errors import RegistryError
from minidock.image.transport import RetryPolicy, Transport, redirect_headers, retry_after_seconds


class Server:
    """Answers each request from a script of (status, headers); records the headers it got."""

    def __init__(self, script: list[tuple[int, dict[str, str]]]) -> None:
        self.script, self.seen = list(script), []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.seen.append(dict(self.headers.items()))
                status, headers = server.script.pop(0) if server.script else (200, {})
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v.replace("SELF", server.url))
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    made: list[Server] = []
    yield made
    for s in made:
        s.stop()


def transport(sleeps: list[float], attempts: int = 4) -> Transport:
    return Transport(Settings(), RetryPolicy(attempts=attempts, backoff=0.01, deadline=30), sleep=sleeps.append)


def test_retries_5xx_then_succeeds(servers: list[Server]) -> None:
    s = Server([(503, {}), (502, {})])
    servers.append(s)
    sleeps: list[float] = []
    resp = transport(sleeps).request("GET", s.url + "/v2/")
    assert resp.status_code == 200 and len(s.seen) == 3
    assert sleeps == [0.01, 0.02]  # exponential backoff


def test_429_honours_retry_after(servers: list[Server]) -> None:
    s = Server([(429, {"Retry-After": "7"})])
    servers.append(s)
    sleeps: list[float] = []
    assert transport(sleeps).request("GET", s.url + "/x").status_code == 200
    assert sleeps == [7.0]


def test_retries_are_bounded(servers: list[Server]) -> None:
    s = Server([(500, {})] * 10)
    servers.append(s)
    sleeps: list[float] = []
    assert transport(sleeps, attempts=3).request("GET", s.url + "/x").status_code == 500
    assert len(s.seen) == 3


def test_deadline_stops_retries(servers: list[Server]) -> None:
    s = Server([(503, {"Retry-After": "30"})] * 3)
    servers.append(s)
    t = Transport(Settings(), RetryPolicy(attempts=5, deadline=10.0), sleep=lambda _s: None)
    assert t.request("GET", s.url + "/x").status_code == 503  # a 30 s wait would pass the deadline
    assert len(s.seen) == 1


def test_connection_refused_is_a_registry_error() -> None:
    sleeps: list[float] = []
    with pytest.raises(RegistryError, match="connection refused"):
        transport(sleeps, attempts=2).request("GET", "http://127.0.0.1:1/v2/")
    assert len(sleeps) == 1


def test_redirect_to_another_host_drops_authorization(servers: list[Server]) -> None:
    cdn = Server([])
    registry = Server([(307, {"Location": cdn.url + "/blob?sig=secret"})])
    servers += [cdn, registry]
    resp = transport([]).request("GET", registry.url + "/v2/a/blobs/x", headers={"Authorization": "Bearer t"})
    assert resp.status_code == 200 and resp.content == b"ok"
    assert registry.seen[0]["Authorization"] == "Bearer t"
    assert "Authorization" not in cdn.seen[0]


def test_redirect_on_the_same_host_keeps_authorization(servers: list[Server]) -> None:
    s = Server([(302, {"Location": "/elsewhere"})])
    servers.append(s)
    transport([]).request("GET", s.url + "/v2/", headers={"Authorization": "Bearer t"})
    assert [h.get("Authorization") for h in s.seen] == ["Bearer t", "Bearer t"]


def test_redirect_loop_is_an_error(servers: list[Server]) -> None:
    s = Server([(307, {"Location": "SELF/again"})] * 20)
    servers.append(s)
    with pytest.raises(RegistryError, match="more than 10 redirects"):
        transport([]).request("GET", s.url + "/v2/")


@pytest.mark.parametrize(("src", "dst", "kept"), [
    ("https://r.io/v2/x", "https://r.io/other", True),
    ("https://r.io/v2/x", "https://r.io:443/other", True),
    ("https://r.io/v2/x", "https://cdn.r.io/b", False),
    ("https://r.io/v2/x", "https://r.io:8443/b", False),
    ("https://r.io/v2/x", "http://r.io/b", False),  # downgrade
    ("http://127.0.0.1:5000/v2/x", "http://127.0.0.1:5001/b", False),
])
def test_redirect_headers(src: str, dst: str, kept: bool) -> None:
    out = redirect_headers(src, dst, {"Authorization": "Bearer t", "Accept": "x"})
    assert ("Authorization" in out) is kept
    assert out["Accept"] == "x"


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("") is None
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("9999") == 60.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("soon") is None


def test_scheme_follows_insecure_registries() -> None:
    t = Transport(Settings(insecure_registries=("10.0.0.0/8", "reg.lan:5000")))
    assert t.base_url("localhost:5000") == "http://localhost:5000"
    assert t.base_url("127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert t.base_url("10.1.2.3:5000") == "http://10.1.2.3:5000"
    assert t.base_url("reg.lan:5000") == "http://reg.lan:5000"
    assert t.base_url("quay.io") == "https://quay.io"
