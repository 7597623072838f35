"""`minidock build` flags: the argparse-free reader of plain command lines agrees with argparse."""

from __future__ import annotations

import pytest

from minidock.cli import buildargs
from minidock.errors import UsageError

SIMPLE = [
    ["."],
    ["-q", "-t", "x", "ctx"],
    ["ctx", "-t", "a", "--tag", "b:1", "--tag=c", "-q"],
    ["--no-cache", "--quiet", "--verify-reproducible", "ctx"],
    ["-f", "Dockerfile.dev", "--file=other", "ctx"],
    ["--build-arg", "A=1", "--build-arg=B", "--label", "k=v", "--label=x=y=z", "ctx"],
    ["--secret", "id=s,src=f", "--secret=id=t,env=T", "ctx"],
    ["--target", "one", "--target=two", "--platform", "linux/amd64", "ctx"],
    ["--tag=", "-t", "", "--target=-dash", "ctx"],
    ["", "-q"],
    ["a=b", "--no-cache"],
]
ARGPARSE_ONLY = [
    [], ["-q"], ["a", "b"], ["--", "ctx"], ["-"], ["-qt", "x", "ctx"], ["-t=x", "ctx"], ["-t", "-x", "ctx"],
    ["--no-cache=true", "ctx"], ["--quiet=1", "ctx"], ["--tag"], ["ctx", "-t"], ["--unknown", "ctx"],
    ["--no-cach", "ctx"], ["-f", "-", "ctx"], ["--file=-", "ctx"], ["--help"], ["-1"], ["-x y"],
]


def _argparse(argv: list[str]) -> dict[str, object]:
    return vars(buildargs.parser().parse_args(argv))


@pytest.mark.parametrize("argv", SIMPLE)
def test_simple_command_lines_read_as_argparse_reads_them(argv: list[str]) -> None:
    assert buildargs._simple(argv) == _argparse(argv)


@pytest.mark.parametrize("argv", ARGPARSE_ONLY)
def test_other_command_lines_are_left_to_argparse(argv: list[str]) -> None:
    assert buildargs._simple(argv) is None


def test_parse_builds_the_request_either_way() -> None:
    req, quiet = buildargs.parse(["-q", "-t", "app:1", "--build-arg", "A=1", "--no-cache", "ctx"])
    assert quiet and req.context == "ctx" and req.tags == ("app:1",) and req.build_args == ("A=1",)
    assert req.no_cache and req.dockerfile_text is None and req.file == ""
    with pytest.raises(UsageError, match="minidock build: unrecognized arguments: b"):
        buildargs.parse(["a", "b"])
    with pytest.raises(UsageError, match="the following arguments are required: PATH"):
        buildargs.parse(["-q"])
