"""Registry authentication: WWW-Authenticate parsing, the bearer token flow, and basic auth.

Lifecycle: one Authenticator per registry endpoint (per pull/push). `header(scope)` returns a cached
Authorization value for a repository scope (or None); after a 401, `answer(challenge, scope)` does
what the challenge asks (token request with the challenge's realm/service/scope verbatim, or basic)
and returns the header to retry with. A second 401 for the same request is the caller's AuthError.
"""

import base64
import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from minidock.errors import AuthError, RegistryError
from minidock.nouns import NamedTuple

if TYPE_CHECKING:
    from minidock.image.transport import Transport

DEFAULT_EXPIRES_IN = 60
EXPIRY_SKEW = 5.0


class Challenge(NamedTuple):
    """One WWW-Authenticate challenge: scheme (lowercase) and its auth-params (lowercase keys)."""

    scheme: str
    params: dict[str, str]

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")


def parse_challenges(header: str) -> list[Challenge]:
    """Parse a WWW-Authenticate value (RFC 9110 auth-param lists; quoted values may hold commas)."""
    out: list[Challenge] = []
    pos, n = 0, len(header)
    while pos < n:
        pos = _skip(header, pos, " ,\t")
        start = pos
        while pos < n and header[pos] not in " \t,=":
            pos += 1
        token = header[start:pos]
        if not token:
            break
        after = _skip(header, pos, " \t")
        if after < n and header[after] == "=" and out:  # a param of the current challenge
            pos = _param(header, start, out[-1].params)
            continue
        out.append(Challenge(token.lower(), {}))
        pos = after
    return out


def _skip(s: str, pos: int, chars: str) -> int:
    while pos < len(s) and s[pos] in chars:
        pos += 1
    return pos


def _param(s: str, pos: int, into: dict[str, str]) -> int:
    """Read `key=value` or `key="quoted, value"` at pos into `into`; returns the position after it."""
    eq = s.index("=", pos)
    key = s[pos:eq].strip().lower()
    pos = _skip(s, eq + 1, " \t")
    if pos < len(s) and s[pos] == '"':
        pos += 1
        chars: list[str] = []
        while pos < len(s) and s[pos] != '"':
            if s[pos] == "\\" and pos + 1 < len(s):
                pos += 1
            chars.append(s[pos])
            pos += 1
        into[key] = "".join(chars)
        return pos + 1
    end = pos
    while end < len(s) and s[end] not in ",":
        end += 1
    into[key] = s[pos:end].strip()
    return end


def basic_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Token(NamedTuple):
    """A bearer token and when (monotonic seconds) it stops being used."""

    value: str
    expires_at: float


class Authenticator:
    """Answers registry challenges and caches tokens per (realm, service, scope) until they expire."""

    def __init__(self, transport: "Transport", credentials: tuple[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.transport = transport
        self.credentials = credentials
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str, str], Token] = {}
        self._challenge_for: dict[str, Challenge] = {}  # our scope -> the challenge that guarded it
        self.token_requests = 0

    def header(self, scope: str) -> str | None:
        """The Authorization value to send for `scope` without waiting for a 401, if we know one."""
        with self._lock:
            ch = self._challenge_for.get(scope)
        if ch is None:
            return None
        if ch.scheme == "basic":
            return basic_header(*self.credentials) if self.credentials else None
        tok = self._cached(_token_key(ch, scope))
        return f"Bearer {tok.value}" if tok else None

    def answer(self, www_authenticate: str, scope: str, what: str) -> str:
        """The Authorization value that satisfies the challenge for `scope`; AuthError if we cannot."""
        challenges = parse_challenges(www_authenticate)
        bearer = next((c for c in challenges if c.scheme == "bearer" and c.realm), None)
        if bearer is not None:
            with self._lock:
                self._challenge_for[scope] = bearer
            return f"Bearer {self._token(bearer, scope, what).value}"
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        if basic is not None and self.credentials:
            with self._lock:
                self._challenge_for[scope] = basic
            return basic_header(*self.credentials)
        if basic is not None:
            raise AuthError(f"{what}: registry requires a login (no credentials stored)", code="UNAUTHORIZED",
                            status=401)
        raise AuthError(f"{what}: unsupported authentication challenge {www_authenticate!r}",
                        code="UNAUTHORIZED", status=401)

    def _cached(self, key: tuple[str, str, str]) -> Token | None:
        with self._lock:
            tok = self._tokens.get(key)
        if tok is None or tok.expires_at <= self._clock():
            return None
        return tok

    def _token(self, ch: Challenge, scope: str, what: str) -> Token:
        key = _token_key(ch, scope)
        cached = self._cached(key)
        if cached is not None:
            return cached
        tok = self._fetch_token(ch, key[2], what)
        with self._lock:
            self._tokens[key] = tok
        return tok

    def _fetch_token(self, ch: Challenge, scope: str, what: str) -> Token:
        query = [(k, ch.params[k]) for k in ("service",) if ch.params.get(k)]
        query += [("scope", s) for s in scope.split(" ") if s]
        url = ch.realm + ("&" if "?" in ch.realm else "?") + urlencode(query)
        headers = {"Authorization": basic_header(*self.credentials)} if self.credentials else {}
        started = self._clock()
        resp = self.transport.request("GET", url, headers=headers)
        self.token_requests += 1
        try:
            if resp.status_code in (401, 403):
                raise AuthError(f"{what}: token server {ch.realm} refused the request ({resp.status_code})",
                                code="UNAUTHORIZED", status=resp.status_code)
            if resp.status_code != 200:
                raise RegistryError(f"{what}: token server {ch.realm} answered {resp.status_code}",
                                    status=resp.status_code)
            return parse_token_response(resp.content, started, f"{what}: token from {ch.realm}")
        finally:
            resp.close()


def _token_key(ch: Challenge, scope: str) -> tuple[str, str, str]:
    """(realm, service, scope): the challenge's scope verbatim when it names one, else ours."""
    return ch.realm, ch.params.get("service", ""), ch.params.get("scope") or scope


def parse_token_response(body: bytes, now: float, what: str) -> Token:
    """`token` or `access_token` and `expires_in` (default 60 s) from a token server's JSON."""
    try:
        obj = json.loads(body)
    except ValueError as e:
        raise AuthError(f"{what}: invalid JSON") from e
    if not isinstance(obj, dict):
        raise AuthError(f"{what}: not a JSON object")
    value = obj.get("token") or obj.get("access_token")
    if not isinstance(value, str) or not value:
        raise AuthError(f"{what}: no token in the response")
    expires = obj.get("expires_in")
    seconds = float(expires) if isinstance(expires, int | float) and expires > 0 else DEFAULT_EXPIRES_IN
    return Token(value, now + max(1.0, seconds - EXPIRY_SKEW))
