"""`minidock build` flags: the argparse-free reader of plain command lines agrees with argparse."""

from __future__ import annotations

import pytest

from minidock.cli import buildargs, buildignored
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
    ["-"], ["-f", "-", "ctx"], ["--file=-", "ctx"], ["-t", "x", "-f", "Dockerfile", "-"],
    ["--iidfile", "id.txt", "--pull", "--progress", "plain", "ctx"], ["--iidfile=x", "--progress=tty", "ctx"],
    ["-o", "type=local,dest=out", "--output", "out2", "--output=type=tar,dest=-", "-o", "-", "ctx"],
    ["--build-context", "base=../b", "--build-context=img=docker-image://busybox", "ctx"],
    ["--progress", "bogus", "ctx"], ["--progress", "-", "ctx"],
]
ARGPARSE_ONLY = [
    [], ["-q"], ["a", "b"], ["--", "ctx"], ["-qt", "x", "ctx"], ["-t=x", "ctx"], ["-t", "-x", "ctx"],
    ["--no-cache=true", "ctx"], ["--quiet=1", "ctx"], ["--tag"], ["ctx", "-t"], ["--unknown", "ctx"],
    ["--no-cach", "ctx"], ["--help"], ["-1"], ["-x y"], ["--pull=true", "ctx"], ["-o"], ["ctx", "--iidfile"],
    ["--build-contex", "a=b", "ctx"], ["-", "-"],
]


def _argparse(argv: list[str]) -> dict[str, object]:
    """argparse's reading, without the flags BuildKit ignores (plain command lines never carry them)."""
    switches = (w.lstrip("-").replace("-", "_") for w in buildignored.SWITCHES)
    ignored = {*buildignored.VALUES, *buildignored.LISTS, *switches}
    return {k: v for k, v in vars(buildargs.parser().parse_args(argv)).items() if k not in ignored}


@pytest.mark.parametrize("argv", SIMPLE)
def test_simple_command_lines_read_as_argparse_reads_them(argv: list[str]) -> None:
    assert buildargs._simple(argv) == _argparse(argv)


@pytest.mark.parametrize("argv", ARGPARSE_ONLY)
def test_other_command_lines_are_left_to_argparse(argv: list[str]) -> None:
    assert buildargs._simple(argv) is None


def test_parse_builds_the_request_either_way() -> None:
    req, mode = buildargs.parse(["-q", "-t", "app:1", "--build-arg", "A=1", "--no-cache", "ctx"])
    assert mode == "quiet" and req.context == "ctx" and req.tags == ("app:1",) and req.build_args == ("A=1",)
    assert req.no_cache and req.dockerfile_text is None and req.file == ""
    for argv, want in ((["a", "b"], '"minidock build" requires exactly 1 argument.'),
                       (["-q"], '"minidock build" requires at least 1 argument.')):
        with pytest.raises(UsageError) as e:
            buildargs.parse(argv)
        assert str(e.value) == f"{want}\nSee 'minidock build --help'."


def test_parse_new_flags_into_the_request() -> None:
    req, mode = buildargs.parse(["-t", "a", "-t", "b:2", "--iidfile", "id", "--pull", "--progress=plain", "-o",
                                 "type=local,dest=out", "--build-context", "base=ctx2", "--platform", "linux/amd64",
                                 "ctx"])
    assert mode == "plain" and req.tags == ("a", "b:2") and req.iidfile == "id" and req.pull
    assert req.outputs == ("type=local,dest=out",) and req.build_contexts == ("base=ctx2",)
    assert req.platform == "linux/amd64" and req.context_data is None
    assert buildargs.parse(["--progress", "tty", "ctx"])[1] == "plain"  # stderr is no terminal here: Docker's fallback
    assert buildargs.parse(["-q", "--progress", "tty", "ctx"])[1] == "quiet"


def test_a_value_that_starts_with_a_dash_is_the_flags_as_pflag_reads_it() -> None:
    """pflag takes the word after a value flag whatever it looks like, before or after the context
    (build's flags may follow it); argparse alone would call `--label -x=1` a missing value."""
    req, _ = buildargs.parse(["--label", "-x=1", "ctx", "--build-arg", "-A=2", "-t", "a", "--iidfile", "-id"])
    assert (req.labels, req.build_args, req.tags, req.iidfile, req.context) == (
        ("-x=1",), ("-A=2",), ("a",), "-id", "ctx")


@pytest.mark.parametrize(("argv", "message"), [
    (["--bogus", "ctx"], "unknown flag: --bogus\nSee 'minidock build --help'."),
    (["--bogus=1", "ctx"], "unknown flag: --bogus\nSee 'minidock build --help'."),
    (["ctx", "-x"], "unknown shorthand flag: 'x' in -x\nSee 'minidock build --help'."),
    (["--progress", "fancy", "ctx"], "invalid --progress 'fancy': want auto, plain or tty"),
    (["--progress=", "ctx"], "invalid --progress '': want auto, plain or tty"),
    (["-f", "-", "-"], "invalid argument: can't use stdin for both build context and dockerfile"),
    (["--iidfile"], "flag needs an argument: --iidfile\nSee 'minidock build --help'."),
])
def test_bad_flags_are_one_line_naming_the_flag(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as e:
        buildargs.parse(argv)
    assert str(e.value) == message  # one line (a flag error adds Docker's "See '... --help'." line)
