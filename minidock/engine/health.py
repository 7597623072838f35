"""HEALTHCHECK and `--health-*`: the effective check (pure), and the checker a monitor runs beside its container.

Docker's rules: `--health-*` flags override the image's HEALTHCHECK field by field,
`--no-healthcheck` (or `HEALTHCHECK NONE`, Test ["NONE"]) disables it; durations are Go's
("30s", "1m30s", "500ms") and stored in nanoseconds; defaults: interval 30s, timeout 30s, start
period 0s, 3 retries. State.Health starts "starting"; a probe exiting 0 makes it "healthy" and
resets the failing streak; any other result (a timeout too) adds to the streak, and at `retries`
failures it is "unhealthy" — except that failures inside the start period do not count. The last
five results are kept, each with its output cut to 4096 bytes.

Lifecycle of the checker: the monitor forks it once the container runs (`start_checker`) and kills
it (`stop_checker`) when the container exits; it probes every `interval` with an `exec` into the
container and writes `health` into the container's record.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Mapping

from minidock.errors import MinidockError, UsageError
from minidock.nouns import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SECOND = 1_000_000_000
DEFAULTS = {"Interval": 30 * SECOND, "Timeout": 30 * SECOND, "StartPeriod": 0, "Retries": 3}
MAX_OUTPUT = 4096


def parse_duration(text: str, flag: str) -> int:
    """A Go duration ("1m30s", "500ms", "0") in nanoseconds; Docker's words for one Go refuses."""
    from minidock.goduration import DurationError
    from minidock.goduration import parse_duration as go_duration

    try:
        return round(go_duration(text) * SECOND)
    except DurationError as e:
        raise UsageError(f'invalid argument "{text}" for "{flag}" flag: {e}') from None


class HealthFlags(NamedTuple):
    """`--health-*` and `--no-healthcheck` as typed."""

    cmd: str = ""
    interval: str = ""
    timeout: str = ""
    start_period: str = ""
    retries: int = 0
    disabled: bool = False


def client_checked(flags: HealthFlags) -> dict[str, int]:
    """The durations (ns) and retries the flags set, checked as docker/cli checks them before it asks
    its daemon for anything (the image need not be there yet)."""
    out: dict[str, int] = {}
    for key, text, flag in (("Interval", flags.interval, "--health-interval"),
                            ("Timeout", flags.timeout, "--health-timeout"),
                            ("StartPeriod", flags.start_period, "--health-start-period")):
        if text:
            out[key] = parse_duration(text, flag)
            if out[key] < 0:
                raise UsageError(f"{flag} cannot be negative")
    if flags.retries:
        if flags.retries < 0:
            raise UsageError("--health-retries cannot be negative")
        out["Retries"] = flags.retries
    return out


def effective(image: Mapping[str, Any] | None, flags: HealthFlags) -> dict[str, Any] | None:
    """The container's Healthcheck (Docker's JSON shape), or None when it has none or it is disabled."""
    if flags.disabled:
        if flags.cmd:
            raise UsageError("--no-healthcheck conflicts with --health-* options")
        return None
    check: dict[str, Any] = dict(image or {})
    if flags.cmd:
        check["Test"] = ["CMD-SHELL", flags.cmd]
    for key, value in client_checked(flags).items():
        if key != "Retries" and 0 < value < 1_000_000:  # its daemon's check
            raise UsageError(f"{key} in Healthcheck cannot be less than 1ms")
        check[key] = value
    test = check.get("Test") or []
    if not test or test[0] == "NONE":
        return None
    return check


def probe_command(test: list[str]) -> tuple[str, ...]:
    """The argv of one probe: CMD args as they are, CMD-SHELL through /bin/sh -c."""
    kind, args = test[0], tuple(test[1:])
    if kind == "CMD-SHELL":
        return ("/bin/sh", "-c", " ".join(args))
    if kind == "CMD":
        return args
    raise UsageError(f"unknown healthcheck type {kind!r}")


def setting(check: Mapping[str, Any], key: str) -> int:
    value = int(check.get(key) or 0)
    return value if value > 0 else int(DEFAULTS[key])


class Verdict(NamedTuple):
    status: str
    streak: int


def judge(status: str, streak: int, exit_code: int, in_start_period: bool, retries: int) -> Verdict:
    """The health after one probe (pure: Docker's state machine)."""
    if exit_code == 0:
        return Verdict("healthy", 0)
    if in_start_period and status != "healthy":
        return Verdict(status, streak)  # why: failures while starting do not count
    streak += 1
    return Verdict("unhealthy" if streak >= retries else status, streak)


# ---- the checker process ------------------------------------------------------------------------

def start_checker(paths: Any, cid: str, check: Mapping[str, Any]) -> int:
    """Fork the checker for container `cid`; its pid (the monitor kills it with `stop_checker`)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the checker ends in os._exit
        code = 0
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _checker_loop(paths, cid, check)
        except BaseException:  # noqa: BLE001 - a checker never raises into the monitor's code
            code = 1
        finally:
            os._exit(code)
    return pid


def stop_checker(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _checker_loop(paths: Any, cid: str, check: Mapping[str, Any]) -> None:
    from minidock.store.containers import ContainerStore, now_rfc3339

    records = ContainerStore(paths)
    interval, retries = setting(check, "Interval"), setting(check, "Retries")
    start_period = int(check.get("StartPeriod") or 0)
    started = time.monotonic()
    state: dict[str, Any] = {"Status": "starting", "FailingStreak": 0, "Log": []}
    records.update(cid, health=state)
    argv = probe_command(list(check["Test"]))
    while True:
        time.sleep(interval / SECOND)
        begin = now_rfc3339()
        code, output = _probe(paths, cid, argv, setting(check, "Timeout"))
        in_start = (time.monotonic() - started) * SECOND < start_period
        verdict = judge(state["Status"], state["FailingStreak"], code, in_start, retries)
        entry = {"Start": begin, "End": now_rfc3339(), "ExitCode": code, "Output": output}
        state = {"Status": verdict.status, "FailingStreak": verdict.streak, "Log": [*state["Log"], entry][-5:]}
        records.update(cid, health=state)


def _probe(paths: Any, cid: str, argv: tuple[str, ...], timeout_ns: int) -> tuple[int, str]:
    """One exec of the check in the container: (exit code, output); -1 and Docker's text on a timeout."""
    from minidock.engine.execs import ExecRequest, exec_in
    from minidock.store.store import Store

    r, w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the probe ends in os._exit
        code = 125
        try:
            os.setpgid(0, 0)
            os.close(r)
            null = os.open("/dev/null", os.O_RDONLY)
            code = exec_in(ExecRequest(cid, argv), (null, w, w), Store.open(paths))
        except MinidockError as e:
            os.write(w, str(e).encode())
            code = e.exit_code
        finally:
            os._exit(code)
    os.close(w)
    output, deadline = b"", time.monotonic() + timeout_ns / SECOND
    status = _collect(pid, r, deadline, output_limit=MAX_OUTPUT)
    os.close(r)
    if status is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return -1, f"Health check exceeded timeout ({timeout_ns / SECOND:g}s)"
    code, output = status
    return code, output.decode(errors="replace")


def _collect(pid: int, fd: int, deadline: float, output_limit: int) -> tuple[int, bytes] | None:
    """Read the probe's output until it exits; None when the deadline passes first."""
    import select

    out = b""
    os.set_blocking(fd, False)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], min(left, 0.1))
        if ready:
            with contextlib.suppress(BlockingIOError):
                chunk = os.read(fd, 65536)
                out = (out + chunk)[:output_limit]
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            with contextlib.suppress(BlockingIOError, OSError):
                out = (out + os.read(fd, 65536))[:output_limit]
            return os.waitstatus_to_exitcode(status), out
