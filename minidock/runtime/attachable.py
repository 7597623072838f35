"""A foreground container the CLI can leave running: `run -it` (detach keys) and `--sig-proxy=false`.

A foreground container's PID 1 is the child of the process that supervises it, and dies with it
(init._die_with_supervisor). To let the CLI end while the container runs on, as Docker's does when
ctrl-p,ctrl-q is typed or when the CLI is killed without proxying the signal, `attached(body)`
forks the supervisor off first:

- the supervisor (child) starts a session of its own (the terminal's signals are not its), asks the
  kernel for SIGALRM when the CLI dies, and runs `body(detach)`: the whole foreground run, whose
  terminal relay lets go (`Detach.let_go`: terminal mode restored, stdio on /dev/null, output to the
  log only) when the keys are typed or the CLI is gone. It reports `pid` (the container's PID 1),
  then `detached`, `exit` or `error` to the CLI over a pipe, and supervises to the end.
- the CLI (parent) waits for those messages: with `sig_proxy` it forwards the signals it gets to
  PID 1, else they end it (their default action) and the container runs on. `detached` ends it
  with 0, `exit` with the container's code, `error` re-raises the supervisor's MinidockError.
"""

from __future__ import annotations

import contextlib
import os

from minidock.errors import MinidockError, RuntimeSetupError
from minidock.runtime import sync
from minidock.runtime import syscalls as sc

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal
    from collections.abc import Callable

    from minidock.runtime.terminal import Detach
else:  # why: signal.py only wraps _signal's numbers in enums (see runtime/process.py)
    import _signal as signal

GONE_SIGNAL = signal.SIGALRM  # the supervisor's parent-death signal: not one forwarded to the container


class Outcome:
    """How an attached run ended for the CLI: `code`, and whether the terminal detached."""

    __slots__ = ("code", "detached")

    def __init__(self, code: int, detached: bool = False) -> None:
        self.code, self.detached = code, detached


def attached(body: Callable[[Detach, Callable[[int], None]], int], keys: bytes, *, sig_proxy: bool,
             stdio: tuple[int, int, int] = (0, 1, 2)) -> Outcome:
    """Run `body(detach, started)` in a supervisor of its own (see the module docstring); `body`
    calls `started(pid)` once the container's PID 1 exists and returns its exit code."""
    r, w = os.pipe2(os.O_CLOEXEC)
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the supervisor's side ends in os._exit
        os.close(r)
        _supervise(body, keys, sync.Channel(w), parent, stdio)
    os.close(w)
    chan = sync.Channel(r)
    try:
        return _follow(chan, pid, sig_proxy)
    finally:
        chan.close()


def _supervise(body: Callable[[Detach, Callable[[int], None]], int], keys: bytes, up: sync.Channel,
               parent: int, stdio: tuple[int, int, int]) -> None:
    """The supervisor: never returns."""
    from minidock.runtime.terminal import Detach

    code = 0
    try:
        os.setsid()  # why: ctrl-c and the terminal's hangup are the CLI's to take, not the supervisor's

        def tell_detached() -> None:
            _send(up, "detached")

        detach = Detach(keys, tell_detached, tuple(dict.fromkeys((0, 1, 2, *stdio))))
        signal.signal(GONE_SIGNAL, lambda _s, _f: detach.let_go())
        sc.prctl(sc.PR_SET_PDEATHSIG, GONE_SIGNAL)  # why: the CLI may end (a signal, a closed terminal)
        if os.getppid() != parent:  # it ended before the line above
            detach.let_go()
        code = body(detach, lambda pid: _send(up, "pid", pid=pid))
        _send(up, "exit", code=code)
    except MinidockError as e:
        _send(up, "error", code=e.exit_code, msg=str(e), bare=e.bare)
    except BaseException as e:  # noqa: BLE001 - the supervisor reports anything, then _exits
        _send(up, "error", code=125, msg=f"supervisor: {type(e).__name__}: {e}", bare=False)
    os._exit(0)


def _send(up: sync.Channel, t: str, **fields: object) -> None:
    with contextlib.suppress(OSError):  # the CLI may be gone: nobody to tell then
        up.send(t, **fields)


def _follow(chan: sync.Channel, pid: int, sig_proxy: bool) -> Outcome:
    """The CLI's side: forward signals (with sig_proxy) once PID 1 is known, until the outcome."""
    from minidock.runtime.sigproxy import forward_signals

    proxy: forward_signals | None = None
    if not sig_proxy:  # why: Docker's CLI does not catch them then: ctrl-c ends it as it ends any program
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        while (msg := chan.recv()) is not None:
            t = msg.get("t")
            if t == "pid" and sig_proxy:
                proxy = forward_signals(int(msg["pid"]))
                proxy.__enter__()
            elif t == "detached":
                return Outcome(0, detached=True)  # why: the supervisor runs on; init reaps it
            elif t == "exit":
                os.waitpid(pid, 0)
                return Outcome(int(msg["code"]))
            elif t == "error":
                os.waitpid(pid, 0)
                raise _error(msg)
    finally:
        if proxy is not None:
            proxy.__exit__()
    os.waitpid(pid, 0)
    raise RuntimeSetupError("run: the container's supervisor ended before the container")


def _error(msg: dict[str, object]) -> MinidockError:
    """The supervisor's MinidockError, as the CLI renders it (its text, exit code and wording)."""
    e = MinidockError(str(msg.get("msg", "")))
    e.exit_code = int(str(msg.get("code", 125)))
    e.bare = bool(msg.get("bare"))
    return e
