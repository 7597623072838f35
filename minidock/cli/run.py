"""`minidock run` / `create`: parse (argparse, no typer on this path), one engine call, exit code."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def explain_sink(step: Any) -> None:
    """Print one kernel step of --explain: time, where, what, and the shell command that does it."""
    shell = f"\n      $ {step.shell}" if step.shell else ""
    print(f"[{step.ms:7.2f} ms] {step.where:<7} {step.title}{shell}", file=sys.stderr, flush=True)


def pull_for_run(image: str, platform: str) -> None:
    """Docker's behaviour when the image is missing: say so on stderr, pull with progress."""
    from minidock.cli.main import with_site_packages

    with_site_packages()  # why: the launcher may have skipped site-packages (requests): see there
    from minidock.cli.pull import pull_and_render

    print(f"Unable to find image '{image}' locally", file=sys.stderr)
    pull_and_render(image, platform, quiet=False, out=sys.stderr)


def run_main(argv: list[str], command: str = "run") -> int:
    """The whole `minidock run ARGS`; returns the exit code (MinidockError maps to its own)."""
    from minidock.cli.failures import guarded, needs_root

    if (code := needs_root(command)) is not None:
        return code
    return guarded(lambda: _run(argv, command))


def _collect_from_here() -> None:
    """The command's modules are in: freeze them and resume collection (cli.main paused it)."""
    import gc

    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def _security_notes(opts: tuple[str, ...]) -> None:
    """Say which --security-opt this kernel cannot apply (AppArmor/SELinux without that LSM)."""
    from minidock.engine.spec import security_notes

    try:
        with open("/sys/kernel/security/lsm") as f:
            lsm = f.read()
    except OSError:
        lsm = ""
    for note in security_notes(opts, lsm):
        print(note, file=sys.stderr)


def _resource_notes(req: Any, command: str = "run") -> None:
    """Docker's warnings for the limits this host cannot apply (after its checks passed), and its
    checks of the flags minidock cannot honour further (engine/extraflags.py)."""
    from minidock.engine.resources import settled

    notes = settled(req)[1]
    if req.runtime or req.isolation or req.kernel_memory or req.storage_opt or req.gpus or req.links \
            or req.volume_driver:
        from minidock.engine.extraflags import check

        notes += check(req, command)
    for note in notes:
        print(f"WARNING: {note}", file=sys.stderr)


def _create(req: Any) -> int:
    from minidock.engine import containers
    from minidock.errors import ConflictError, InvalidParameterError, NotFoundError, PlainError

    try:
        _resource_notes(req, "create")
        created = containers.create(req, pull_for_run)
    except (ConflictError, NotFoundError, InvalidParameterError) as e:
        # Docker's `create` exits 1 for what its daemon refuses (a name in use or invalid, no such
        # image); 125, as `run` does, for the flags and values its client rejects
        raise PlainError(f"minidock: {e}") from e
    print(created.record.id)
    return 0


def _run(argv: list[str], command: str) -> int:
    from minidock.cli import runargs
    from minidock.engine import containers

    _collect_from_here()
    req = runargs.parse(command, argv)
    if req.security_opt:
        _security_notes(req.security_opt)
    if command == "create":
        return _create(req)
    _resource_notes(req)
    if req.detach:
        if req.attach:
            from minidock.errors import UsageError

            raise UsageError("conflicting options: cannot specify both --attach and --detach")
        from minidock.engine import lifecycle

        print(lifecycle.run_detached(req, pull_for_run))
        return 0
    tracer = containers.explain_tracer(explain_sink) if req.explain else None
    io = containers.RunIO(*containers.attached_stdio(req.attach), tracer=tracer)
    io.pull = pull_for_run
    if req.detach_keys or (req.tty and req.interactive) or not req.sig_proxy:
        from minidock.engine.attachin import check_tty, detach_keys

        check_tty(req.tty and req.interactive, io.stdin)

        keys = detach_keys(req.detach_keys)  # why: a bad spec is refused before anything is made
        if (req.tty and req.interactive) or not req.sig_proxy:  # the CLI may end first: its own supervisor
            io.detach_keys = keys if req.tty and req.interactive else b""
            if not req.interactive:  # why: without -i the container's stdin is not the CLI's (Docker's)
                io.stdin = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    return containers.run_foreground(req, io)
