"""`minidock build` flags, parsed with argparse (stdlib): a cached rebuild must not pay for typer.

Like `run` (cli/runargs.py), `build` is in the edit-build-run loop, so main() hands it here before
anything heavy is imported; typer only lists the command in `minidock --help`.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from minidock.errors import UsageError

if TYPE_CHECKING:
    from minidock.engine.build import BuildRequest


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def parser() -> argparse.ArgumentParser:
    """The argparse parser of `minidock build`."""
    p = _Parser(prog="minidock build", add_help=False, allow_abbrev=False,
                usage="minidock build [OPTIONS] PATH",
                description="Build an image from a Dockerfile. RUN --network=default means none: builds have "
                            "no bridge (use --network=host for the host's).")
    p.add_argument("--help", action="help", help="show this help and exit")
    p.add_argument("-t", "--tag", action="append", default=[], help="name:tag (repeatable)")
    p.add_argument("-f", "--file", default="", help="the Dockerfile ('-' reads stdin)")
    p.add_argument("--build-arg", action="append", default=[], help="KEY=VALUE (repeatable)")
    p.add_argument("--label", action="append", default=[], help="KEY=VALUE (repeatable)")
    p.add_argument("--secret", action="append", default=[],
                   help="id=ID,src=FILE or id=ID,env=VAR (repeatable): RUN --mount=type=secret,id=ID "
                        "shows it at /run/secrets/ID")
    p.add_argument("--target", default="", help="the stage to build")
    p.add_argument("--no-cache", action="store_true", help="do not use the build cache")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the image id")
    p.add_argument("--platform", default="", help="os/arch (only the host's can RUN)")
    p.add_argument("--verify-reproducible", action="store_true", help="build twice and compare")
    p.add_argument("context", metavar="PATH", help="the build context directory")
    return p


def parse(argv: list[str]) -> tuple[BuildRequest, bool]:
    """argv after `build` -> (BuildRequest, quiet); UsageError on a bad flag."""
    from minidock.engine.build import BuildRequest

    ns = parser().parse_args(argv)
    text = sys.stdin.read() if ns.file == "-" else None
    req = BuildRequest(context=ns.context, file="" if ns.file == "-" else ns.file, dockerfile_text=text,
                       tags=tuple(ns.tag), build_args=tuple(ns.build_arg), labels=tuple(ns.label),
                       target=ns.target, no_cache=ns.no_cache, platform=ns.platform,
                       verify_reproducible=ns.verify_reproducible, secrets=tuple(ns.secret))
    return req, bool(ns.quiet)
