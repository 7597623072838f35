"""Transport: the only HTTP code of minidock (a requests.Session with retries, timeouts, safe redirects).

Lifecycle: one Transport per command (pull/push); `request()` sends one logical request, retrying
connection failures, 5xx and 429 (honouring Retry-After) within a bounded count and time, and
following redirects itself so an Authorization header never reaches another host. Callers read
(or stream) the returned response and close it. Only pull/push import this module (it imports
requests); the `run` path must not.
"""

import email.utils
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from minidock.config import Settings
from minidock.errors import RegistryError
from minidock.nouns import NamedTuple

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
USER_AGENT = "minidock/0.1"

Response = requests.Response


class RetryPolicy(NamedTuple):
    """How hard to try: `attempts` sends at most, backoff doubling from `backoff` s, all within `deadline` s."""

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0
    deadline: float = 60.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0


class Transport:
    """HTTP for registries and token servers; thread-safe (one Session per thread)."""

    def __init__(self, settings: Settings | None = None, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings or Settings()
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._local = threading.local()

    def base_url(self, host: str) -> str:
        """`http://host` for insecure registries (localhost, 127/8, configured), else `https://host`."""
        scheme = "http" if self.settings.is_insecure(host) else "https"
        return f"{scheme}://{host}"

    def _session(self) -> requests.Session:
        s: requests.Session | None = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            s.headers["User-Agent"] = USER_AGENT
            s.trust_env = False  # no proxies from the environment for registry traffic by default
            self._local.session = s
        return s

    def request(self, method: str, url: str, headers: Mapping[str, str] | None = None,
                stream: bool = False, data: Any = None) -> Response:
        """Send with retries and safe redirects; the final response is returned whatever its status."""
        start = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = self._send_following(method, url, dict(headers or {}), stream, data)
            except requests.RequestException as e:
                if not _retryable_exception(e) or not self._may_retry(attempt, start, None):
                    raise RegistryError(f"{method} {_safe(url)}: {_describe(e)}") from e
                self._sleep(self._delay(attempt, None))
                continue
            if resp.status_code in RETRY_STATUS and self._may_retry(attempt, start, resp):
                delay = self._delay(attempt, resp)
                resp.close()
                self._sleep(delay)
                continue
            return resp

    def _may_retry(self, attempt: int, start: float, resp: Response | None) -> bool:
        if attempt >= self.policy.attempts:
            return False
        return time.monotonic() - start + self._delay(attempt, resp) <= self.policy.deadline

    def _delay(self, attempt: int, resp: Response | None) -> float:
        backoff = float(min(self.policy.max_backoff, self.policy.backoff * (2 ** (attempt - 1))))
        if resp is not None:
            after = retry_after_seconds(resp.headers.get("Retry-After", ""))
            if after is not None:
                return after
        return backoff

    def _send_following(self, method: str, url: str, headers: dict[str, str],
                        stream: bool, data: Any) -> Response:
        timeout = (self.policy.connect_timeout, self.policy.read_timeout)
        for _ in range(MAX_REDIRECTS + 1):
            resp = self._session().request(method, url, headers=headers, stream=stream, data=data,
                                           timeout=timeout, allow_redirects=False)
            location = resp.headers.get("Location")
            if resp.status_code not in REDIRECT_STATUS or not location:
                return resp
            resp.close()
            target = urljoin(url, location)
            headers = redirect_headers(url, target, headers)
            if resp.status_code == 303 and method != "HEAD":
                method, data = "GET", None
            url = target
        raise RegistryError(f"{method} {_safe(url)}: more than {MAX_REDIRECTS} redirects")


def redirect_headers(src: str, dst: str, headers: Mapping[str, str]) -> dict[str, str]:
    """Headers to send to a redirect target: Authorization is dropped when the host (or port) changes."""
    a, b = urlsplit(src), urlsplit(dst)
    same_origin = (a.hostname, a.port or _default_port(a.scheme)) == (b.hostname, b.port or _default_port(b.scheme))
    downgrade = a.scheme == "https" and b.scheme == "http"
    if same_origin and not downgrade:
        return dict(headers)
    return {k: v for k, v in headers.items() if k.lower() != "authorization"}


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def retry_after_seconds(value: str, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), capped at 60."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return min(60.0, float(value))
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, min(60.0, when - (time.time() if now is None else now)))


def _retryable_exception(e: requests.RequestException) -> bool:
    if isinstance(e, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return False
    text = str(e)
    if "Name or service not known" in text or "NameResolutionError" in text or "Temporary failure in name" in text:
        return False  # DNS says no: retrying will not change that
    return isinstance(e, requests.ConnectionError | requests.Timeout | requests.exceptions.ChunkedEncodingError)


def _describe(e: requests.RequestException) -> str:
    if isinstance(e, requests.Timeout):
        return "timed out"
    if isinstance(e, requests.ConnectionError):
        text = str(e)
        if "Connection refused" in text:
            return "connection refused"
        if "Name or service not known" in text or "NameResolution" in text or "name resolution" in text:
            return "host not found"
        if "reset" in text.lower():
            return "connection reset"
        return "connection failed"
    return type(e).__name__.lower()


def _safe(url: str) -> str:
    """The URL without its query (pre-signed URLs carry secrets there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
