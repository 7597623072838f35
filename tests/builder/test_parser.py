"""The Dockerfile parser beyond the golden corpus: heredocs, directives, errors, line numbers, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from minidock.builder import heredoc
from minidock.builder.parser import parse
from minidock.errors import DockerfileError

HEREDOCS = """\
FROM alpine:3.6
RUN <<EMPTY
EMPTY
RUN 3<<EMPTY2
EMPTY2
RUN "<<NOHEREDOC"
RUN <<-UNINDENT
\tbaz
\tquux
\tUNINDENT
RUN <<-'NOEXPAND'
\tdon't expand $NAME
NOEXPAND
RUN <<COMMENT
# internal comment
echo hi # trailing
COMMENT
RUN --mount=type=cache,target=/foo <<MOUNT
echo hello
MOUNT
COPY <<X <<Y /dest
Y
X
X
Y
RUN <<eo'f'
echo foo
eof
RUN <<eo\\'f
echo foo
eo'f
RUN <<'one two'
echo bar
one two
RUN <<$EOF
$EOF
RUN <<  EOF  > foo
EOF
RUN ["<<EOF"]
ONBUILD RUN <<EOF
inner
EOF
"""


def _docs(index: int) -> list[tuple[str, str, int, bool, bool]]:
    node = parse(HEREDOCS).nodes[index]
    return [(d.name, d.content, d.fd, d.expand, d.chomp) for d in node.heredocs]


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (1, [("EMPTY", "", 0, True, False)]),
        (2, [("EMPTY2", "", 3, True, False)]),
        (3, []),
        (4, [("UNINDENT", "\tbaz\n\tquux\n", 0, True, True)]),
        (5, [("NOEXPAND", "\tdon't expand $NAME\n", 0, False, True)]),
        (6, [("COMMENT", "# internal comment\necho hi # trailing\n", 0, True, False)]),
        (7, [("MOUNT", "echo hello\n", 0, True, False)]),
        (8, [("X", "Y\n", 0, True, False), ("Y", "X\n", 0, True, False)]),
        (9, [("eof", "echo foo\n", 0, False, False)]),
        (10, [("eo'f", "echo foo\n", 0, True, False)]),
        (11, [("one two", "echo bar\n", 0, False, False)]),
        (12, [("$EOF", "", 0, True, False)]),
        (13, [("EOF", "", 0, True, False)]),
        (14, []),
        (15, [("EOF", "inner\n", 0, True, False)]),
    ],
)
def test_heredocs(index: int, expected: list[tuple[str, str, int, bool, bool]]) -> None:
    assert _docs(index) == expected


def test_heredoc_lines_and_dump() -> None:
    result = parse(HEREDOCS)
    copy = result.nodes[8]
    assert (copy.start_line, copy.end_line) == (21, 25)
    assert copy.dump() == 'copy "<<X" "<<Y" "/dest"'
    assert result.nodes[7].dump() == 'run ["--mount=type=cache,target=/foo"] "<<MOUNT"'


@pytest.mark.parametrize("word", ["<<EOF", "<<'EOF'", '<<"EOF"', "<<-EOF", "<<-'EOF'", '<<EO"F"', "<< EOF"])
def test_marker_valid(word: str) -> None:
    doc = heredoc.parse_marker(word)
    assert doc is not None and doc.name == "EOF"


@pytest.mark.parametrize("word", ["", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"])
def test_marker_not_a_heredoc(word: str) -> None:
    assert heredoc.parse_marker(word) is None


def test_chomp() -> None:
    assert heredoc.chomp("\thello\n\t\tworld\n") == "hello\nworld\n"


def test_unterminated_heredoc() -> None:
    with pytest.raises(DockerfileError, match=r"^Dockerfile:2: unterminated heredoc EOF"):
        parse("FROM a\nRUN <<EOF\necho\n")


def test_unknown_instruction_names_line_and_suggests() -> None:
    with pytest.raises(DockerfileError) as info:
        parse("FROM a\n\n# c\nRNU echo\n", "Dockerfile")
    assert str(info.value) == "Dockerfile:4: unknown instruction: RNU (did you mean RUN?)"
    with pytest.raises(DockerfileError, match=r"^x:2: unknown instruction: FOO$"):
        parse("FROM a\nONBUILD FOO bar\n", "x")


def test_unknown_instruction_allowed_like_buildkit() -> None:
    assert parse("frobnicate a b\n", allow_unknown=True).dump() == '(frobnicate "")\n'


def test_directives_escape_syntax_check() -> None:
    result = parse("# syntax=docker/dockerfile:1\n#check=skip=all\n# escape=`\nFROM a\nRUN x `\n  y\n")
    assert result.escape == "`"
    assert dict(result.directives) == {"syntax": "docker/dockerfile:1", "check": "skip=all", "escape": "`"}
    assert result.dump() == '(from "a")\n(run "x   y")\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# escape=\\\n# escape=`\nFROM a\n", "only one escape parser directive"),
        ("# escape=x\nFROM a\n", "invalid escape token"),
        ("FROM a\nENV\tK\n", "missing value for K"),
        ("FROM a\nENV a=b c\n", "can't find = in \"c\""),
        ('CMD ["a", 1]\n', "arrays must be comprised of strings only"),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(DockerfileError, match=message):
        parse(text)


def test_directive_after_instruction_is_a_comment() -> None:
    assert parse("FROM a\n# escape=`\nRUN x \\\n y\n").dump() == '(from "a")\n(run "x  y")\n'


def test_crlf_bom_and_empty_continuation_warning() -> None:
    result = parse("\ufeffFROM a\r\nRUN a \\\r\n\r\n  b\r\n")
    assert result.dump() == '(from "a")\n(run "a   b")\n'
    assert result.warnings == ("empty continuation line found in: RUN a   b",)
    assert (result.nodes[1].start_line, result.nodes[1].end_line) == (2, 4)


def test_flags_and_json_attributes() -> None:
    node = parse('COPY --from=build --chown="a b" --link ["x y", "/d"]\n').nodes[0]
    assert node.flags == ("--from=build", "--chown=a b", "--link")
    assert node.args == ("x y", "/d") and node.json
    assert parse("RUN [oops\n").nodes[0].args == ("[oops",)


def test_onbuild_nesting_and_healthcheck() -> None:
    nodes = parse('ONBUILD COPY --chown=1 a b\nHEALTHCHECK --interval=5s CMD ["true"]\nONBUILD\n').nodes
    assert nodes[0].inner is not None and nodes[0].inner.flags == ("--chown=1",)
    assert nodes[0].dump() == 'onbuild (copy ["--chown=1"] "a" "b")'
    assert nodes[1].args == ("CMD", "true") and nodes[1].json
    assert nodes[2].dump() == "onbuild"


def test_line_too_long() -> None:
    with pytest.raises(DockerfileError, match="max allowed size"):
        parse("FROM a\nRUN " + "x" * 70000 + "\n", "D")
    with pytest.raises(DockerfileError, match=r"^D:2: "):
        parse("FROM a\nRUN " + "x" * 70000 + "\n", "D")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "minidock.builder.parser", *args], capture_output=True, text=True, check=False
    )


def test_cli_dump_and_json(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM alpine AS b\nRUN <<EOF\necho ♥\nEOF\n")
    dump = _cli(str(path), "--dump")
    assert dump.returncode == 0 and dump.stdout == '(from "alpine" "AS" "b")\n(run "<<EOF")\n'
    lines = _cli(str(path), "--json").stdout.splitlines()
    run = json.loads(lines[1])
    assert run["keyword"] == "run" and run["args"] == ["<<EOF"] and run["json"] is False
    assert run["heredocs"][0]["content"] == "echo ♥\n"
    assert (run["start_line"], run["end_line"], run["original"]) == (2, 4, "RUN <<EOF")


def test_cli_error_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM a\nRNU x\n")
    proc = _cli(str(path))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == f"{path}:2: unknown instruction: RNU (did you mean RUN?)\n"
    missing = _cli(str(tmp_path / "nope"))
    assert missing.returncode == 1 and "Traceback" not in missing.stderr and missing.stderr.count("\n") == 1


def test_go_quote_and_invalid_utf8() -> None:
    from minidock.builder.nodes import go_quote
    from minidock.builder.parser import decode

    assert go_quote('a"\\\x00\x7f\u00a0\u00ad♥한\U0001f600\t') == '"a\\"\\\\\\x00\\x7f\\u00a0\\u00ad♥한😀\\t"'
    result = parse(decode(b"FROM a\nRUN echo \xff\xfe\n"))
    assert result.dump() == '(from "a")\n(run "echo \\xff\\xfe")\n'
