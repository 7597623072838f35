"""WWW-Authenticate parsing and token responses (pure), and the token flow against the real hub twin."""

from __future__ import annotations

import pytest

from minidock.errors import AuthError
from minidock.image.auth import Authenticator, parse_challenges, parse_token_response
from minidock.image.transport import Transport


def test_bearer_challenge_with_commas_in_quotes() -> None:
    (ch,) = parse_challenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
                             'scope="repository:samalba/my-app:pull,push"')
    assert ch.scheme == "bearer"
    assert ch.realm == "https://auth.docker.io/token"
    assert ch.params["service"] == "registry.docker.io"
    assert ch.params["scope"] == "repository:samalba/my-app:pull,push"


def test_challenge_with_error_and_spaces_and_escapes() -> None:
    (ch,) = parse_challenges('Bearer  realm = "https://x/t" , error="insufficient_scope", '
                             'scope="a:b:pull", note="say \\"hi\\""')
    assert ch.params == {"realm": "https://x/t", "error": "insufficient_scope", "scope": "a:b:pull",
                         "note": 'say "hi"'}


def test_several_challenges_and_tokens() -> None:
    chs = parse_challenges('Basic realm="Registry Realm", Bearer realm="https://a/t",service=reg')
    assert [c.scheme for c in chs] == ["basic", "bearer"]
    assert chs[0].realm == "Registry Realm"
    assert chs[1].params == {"realm": "https://a/t", "service": "reg"}


def test_empty_and_odd_headers() -> None:
    assert parse_challenges("") == []
    assert parse_challenges("Bearer")[0].params == {}
    assert parse_challenges("=,=")[:1] == []


def test_token_or_access_token_and_expiry_default() -> None:
    t = parse_token_response(b'{"access_token":"abc"}', 100.0, "x")
    assert t.value == "abc"
    assert 100 + 50 <= t.expires_at <= 160  # default 60 s minus skew
    t = parse_token_response(b'{"token":"t1","access_token":"t2","expires_in":300}', 0.0, "x")
    assert t.value == "t1" and t.expires_at > 290


@pytest.mark.parametrize("body", [b"nope", b"[]", b"{}", b'{"token":""}'])
def test_bad_token_responses(body: bytes) -> None:
    with pytest.raises(AuthError):
        parse_token_response(body, 0.0, "token from x")


def test_basic_without_credentials_is_an_auth_error() -> None:
    auth = Authenticator(Transport())
    with pytest.raises(AuthError, match="requires a login"):
        auth.answer('Basic realm="r"', "repository:a/b:pull", "pull a/b")
    with pytest.raises(AuthError, match="unsupported authentication challenge"):
        auth.answer("Negotiate", "repository:a/b:pull", "pull a/b")


def test_basic_with_credentials_is_remembered() -> None:
    auth = Authenticator(Transport(), ("u", "p"))
    assert auth.header("repository:a/b:pull") is None
    value = auth.answer('Basic realm="r"', "repository:a/b:pull", "x")
    assert value == "Basic dTpw"
    assert auth.header("repository:a/b:pull") == value
