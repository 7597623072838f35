"""`minidock build` flags, parsed with argparse (stdlib): a cached rebuild must not pay for typer.

Like `run` (cli/runargs.py), `build` is in the edit-build-run loop, so main() hands it here before
anything heavy is imported; typer only lists the command in `minidock --help`.

Plain command lines (known flags, each value a separate word or `--flag=value`, one PATH) are read
by cli/quickargs.py without argparse (~9 ms of a ~100 ms cached rebuild); anything else (--help,
`-f -`, a bad or unusual word) goes to argparse, so every message and corner case is argparse's.
tests/cli/test_buildargs.py checks that both read every simple command line the same way.
"""

from __future__ import annotations

import sys

from minidock.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from minidock.engine.build import BuildRequest

# option word -> (namespace attribute, kind): "append" (repeatable), "store" (last wins), "true" (a switch)
_OPTIONS = {
    "-t": ("tag", "append"), "--tag": ("tag", "append"), "-f": ("file", "store"), "--file": ("file", "store"),
    "--build-arg": ("build_arg", "append"), "--label": ("label", "append"), "--secret": ("secret", "append"),
    "--target": ("target", "store"), "--platform": ("platform", "store"), "--no-cache": ("no_cache", "true"),
    "-q": ("quiet", "true"), "--quiet": ("quiet", "true"), "--verify-reproducible": ("verify_reproducible", "true"),
    "--iidfile": ("iidfile", "store"), "--pull": ("pull", "true"), "--progress": ("progress", "store"),
    "-o": ("output", "append"), "--output": ("output", "append"), "--build-context": ("build_context", "append"),
    "--network": ("network", "store"), "--add-host": ("add_host", "append"), "--ssh": ("ssh", "append"),
}  # fmt: skip
PROGRESS = ("auto", "plain", "tty")


def parser() -> argparse.ArgumentParser:
    """The argparse parser of `minidock build`."""
    import argparse  # lazy: only --help, errors and unusual command lines need it (see the docstring)

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:  # type: ignore[override]
            from minidock.cli.usage import from_argparse

            raise from_argparse(message, self.prog, {})

    p = _Parser(prog="minidock build", add_help=False, allow_abbrev=False,
                usage="minidock build [OPTIONS] PATH",
                description="Build an image from a Dockerfile. RUN steps have the default bridge network "
                            "(NAT, the host's resolvers) unless --network or RUN --network=none|host says "
                            "otherwise.")
    p.add_argument("--help", action="help", help="show this help and exit")
    p.add_argument("-t", "--tag", action="append", default=[], help="name:tag (repeatable)")
    p.add_argument("-f", "--file", default="", help="the Dockerfile ('-' reads stdin)")
    p.add_argument("--build-arg", action="append", default=[], help="KEY=VALUE (repeatable)")
    p.add_argument("--label", action="append", default=[], help="KEY=VALUE (repeatable)")
    p.add_argument("--secret", action="append", default=[],
                   help="id=ID,src=FILE or id=ID,env=VAR (repeatable): RUN --mount=type=secret,id=ID "
                        "shows it at /run/secrets/ID")
    p.add_argument("--ssh", action="append", default=[],
                   help="default|ID[=SOCKET|KEY[,KEY]] (repeatable): RUN --mount=type=ssh gets that agent "
                        "(no path: $SSH_AUTH_SOCK)")
    p.add_argument("--target", default="", help="the stage to build")
    p.add_argument("--no-cache", action="store_true", help="do not use the build cache")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the image id")
    p.add_argument("--platform", default="", help="os/arch (only the host's can RUN)")
    p.add_argument("--verify-reproducible", action="store_true", help="build twice and compare")
    _add_io_flags(p)
    p.add_argument("--network", default="", help="network of RUN steps: default (the bridge), bridge, none, host "
                                                 "or a network NAME")
    p.add_argument("--add-host", action="append", default=[], help="NAME:IP added to RUN steps' /etc/hosts "
                                                                   "(repeatable)")
    from minidock.cli.buildignored import add_flags

    add_flags(p)
    p.add_argument("context", metavar="PATH", help="the build context directory ('-': a Dockerfile or a tar on stdin)")
    return p


def _add_io_flags(p: argparse.ArgumentParser) -> None:
    """What a build reads and writes besides the context: --iidfile, --pull, --progress, -o, --build-context."""
    p.add_argument("--iidfile", default="", help="write the image ID (sha256:...) to this file")
    p.add_argument("--pull", action="store_true", help="always pull the base images, even when stored")
    p.add_argument("--progress", default="auto", help="auto, plain or tty (auto: tty on a terminal, else plain)")
    p.add_argument("-o", "--output", action="append", default=[],
                   help="export the file system instead of an image: type=local,dest=DIR, "
                        "type=tar,dest=FILE ('-' for stdout), DIR or '-'")
    p.add_argument("--build-context", action="append", default=[],
                   help="NAME=DIR or NAME=docker-image://REF (repeatable): what FROM NAME and COPY --from=NAME use")


def _defaults() -> dict[str, Any]:
    return {"tag": [], "file": "", "build_arg": [], "label": [], "secret": [], "target": "", "no_cache": False,
            "quiet": False, "platform": "", "verify_reproducible": False, "iidfile": "", "pull": False,
            "progress": "auto", "output": [], "build_context": [], "context": None,
            "network": "", "add_host": [], "ssh": []}


def _simple(argv: list[str]) -> dict[str, Any] | None:
    """The parsed flags of a plain command line (see cli/quickargs.py), else None."""
    from minidock.cli.quickargs import read

    return read(argv, _OPTIONS, _defaults(), "context")


def parse(argv: list[str]) -> tuple[BuildRequest, str]:
    """argv after `build` -> (BuildRequest, progress mode: "quiet", "plain" or "tty"); UsageError on a bad flag.

    Standard input is read here: the Dockerfile of `-f -`, or what `build -` gets (a Dockerfile or a
    context tar, which the engine tells apart)."""
    from minidock.engine.build import BuildRequest

    ns = _simple(argv)
    if ns is None:
        from minidock.cli import buildignored
        from minidock.cli.quickargs import parser_options, pflag_joined

        p = parser()
        argv = buildignored.switch_values(pflag_joined(argv, parser_options(p), interspersed=True),
                                          ("--no-cache", "--pull", "--quiet"))
        ns = vars(p.parse_args(argv))
        buildignored.check(ns)
    mode = progress_mode(ns["progress"], bool(ns["quiet"]))
    from_stdin = ns["file"] == "-"
    if from_stdin and ns["context"] == "-":
        raise UsageError("invalid argument: can't use stdin for both build context and dockerfile")
    text = sys.stdin.read() if from_stdin else None
    data = sys.stdin.buffer.read() if ns["context"] == "-" else None
    req = BuildRequest(context=ns["context"], file="" if from_stdin else ns["file"], dockerfile_text=text,
                       tags=tuple(ns["tag"]), build_args=tuple(ns["build_arg"]), labels=tuple(ns["label"]),
                       target=ns["target"], no_cache=ns["no_cache"], platform=ns["platform"],
                       verify_reproducible=ns["verify_reproducible"], secrets=tuple(ns["secret"]),
                       context_data=data, iidfile=ns["iidfile"], pull=ns["pull"], outputs=tuple(ns["output"]),
                       build_contexts=tuple(ns["build_context"]),
                       network=ns["network"], add_hosts=tuple(ns["add_host"]), ssh=tuple(ns["ssh"]))
    return req, mode


def progress_mode(progress: str, quiet: bool) -> str:
    """--progress (and -q) -> how the build is shown: "quiet", "plain" or "tty" (auto and tty: tty on a terminal)."""
    if progress not in PROGRESS:
        raise UsageError(f"invalid --progress {progress!r}: want auto, plain or tty")
    if quiet:
        return "quiet"
    if progress == "plain":
        return progress
    return "tty" if sys.stderr.isatty() else "plain"  # `tty` off a terminal is plain, as in Docker
