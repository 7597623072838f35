"""The shell lexer: BuildKit's envVarTest and wordsTest data plus the modifiers they do not cover."""

from __future__ import annotations

from pathlib import Path

import pytest

from minidock.builder.expand import ExpandError, LexOptions, expand_word, expand_words, process_words

DATA = Path(__file__).resolve().parents[1] / "conformance" / "dockerfile-shell"  # from moby/buildkit: PROVENANCE.md
ENV_VAR_ENV = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": ""}


def _env_var_cases() -> list[tuple[str, str]]:
    path = DATA / "envVarTest"
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        platform, given, expected = (part.strip() for part in line.split("|"))
        if platform != "W":
            cases.append((given, expected))
    return cases


def _words_cases() -> list[tuple[dict[str, str], str, list[str]]]:
    path = DATA / "wordsTest"
    env: dict[str, str] = {}
    cases = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.startswith("#") or not line:
            continue
        if line.startswith("ENV "):
            key, value = line[4:].lstrip(" ").split("=", 1)
            env = {**env, key: value}
            continue
        given, expected = line.split("|")
        cases.append((env, given.strip(), expected.lstrip(" ").split(",")))
    return cases


@pytest.fixture
def shell_data() -> Path:
    return DATA


def test_data_present(shell_data: Path) -> None:
    assert len(_env_var_cases()) > 200
    assert len(_words_cases()) == 24


@pytest.mark.parametrize(("given", "expected"), _env_var_cases())
def test_env_var(shell_data: Path, given: str, expected: str) -> None:
    try:
        got = expand_word(given, ENV_VAR_ENV)
    except ExpandError:
        got = "error"
    assert got == expected


@pytest.mark.parametrize(("env", "given", "expected"), _words_cases())
def test_words(shell_data: Path, env: dict[str, str], given: str, expected: list[str]) -> None:
    try:
        got = expand_words(given, env)
    except ExpandError:
        got = ["error"]
    assert got == expected


MODIFIERS = {"V": "abc.tar.gz", "E": "", "P": "/usr/local/bin"}


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("${U-x}", "x"), ("${E-x}", ""), ("${E:-x}", "x"), ("${V-x}", "abc.tar.gz"),
        ("${U+x}", ""), ("${E+x}", "x"), ("${E:+x}", ""), ("${V:+x}", "x"),
        ("${V#*.}", "tar.gz"), ("${V##*.}", "gz"), ("${V%.*}", "abc.tar"), ("${V%%.*}", "abc"),
        ("${V#x}", "abc.tar.gz"), ("${P#/usr}", "/local/bin"), ("${V%gz}", "abc.tar."),
        ("${V/./-}", "abc-tar.gz"), ("${V//./-}", "abc-tar-gz"), ("${V//a?c/X}", "X.tar.gz"),
        ("${P//\\//:}", ":usr:local:bin"), ("${V/#nope/x}", "abc.tar.gz"), ("${V?}", "abc.tar.gz"),
        ("${V#a\\*}", "abc.tar.gz"), ("${U#x}", ""), ("${U//a/b}", ""),
    ],
)  # fmt: skip
def test_modifiers(word: str, expected: str) -> None:
    assert expand_word(word, MODIFIERS) == expected


@pytest.mark.parametrize(
    ("word", "message"),
    [
        ("${U:?must be set}", "U: must be set"), ("${U?}", "U: is not allowed to be unset"),
        ("${E:?}", "E: is not allowed to be empty"), ("${V:#x}", "unsupported modifier"),
        ("${V/x", "missing '/'"), ("${V#\\x}", "invalid escape"), ("${V", "missing '}'"),
    ],
)  # fmt: skip
def test_errors_name_the_word(word: str, message: str) -> None:
    with pytest.raises(ExpandError, match=message) as info:
        expand_word(word, MODIFIERS)
    assert word in str(info.value)


def test_backtick_escape() -> None:
    assert expand_word("a`$V`\"b", MODIFIERS, escape="`") == 'a$V"b'
    assert expand_word("c:\\dir", {}, escape="`") == "c:\\dir"


def test_raw_options_keep_quotes_and_unset_variables() -> None:
    opts = LexOptions(raw_quotes=True, raw_escapes=True, skip_unset=True)
    assert process_words("cat <<'EOF' $X ${Y:-z} a\\ b", {}, opts) == ["cat", "<<'EOF'", "$X", "${Y:-z}", "a\\ b"]
