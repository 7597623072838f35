"""Typing into a running container: the stdin half of `attach` and `start -i` (runtime/stdincopy.py).

The detach keys are found as Docker's client finds them: `--detach-keys`, else `detachKeys` in
~/.docker/config.json ($DOCKER_CONFIG), else ctrl-p,ctrl-q (`detach_keys`); a spec that does not
parse is refused with the words Docker 20.10 shows on a terminal (`Invalid detach keys (x)
provided`; exec: its daemon's `Invalid escape keys (x) provided`), exit 1.

`stdin_copy(cid, keys, on_detach)` returns a started StdinCopy when the container's stdin is one
its supervisor writes (created with -i), else None (output only, as Docker attaches a container
without OpenStdin).
"""

from __future__ import annotations

import os

from minidock.engine.lookup import open_store
from minidock.errors import PlainError
from minidock.store.containers import ContainerStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from minidock.runtime.stdincopy import StdinCopy


def signal_target(cid: str) -> int:
    """The host pid of the container's PID 1, which the signals an attached CLI gets go to; 0 when it
    has a terminal (-t: Docker proxies none then) or is not running."""
    rec = ContainerStore(open_store().paths).get(cid)
    return 0 if rec.host_config.get("Tty") else rec.pid


def stdin_copy(cid: str, keys: bytes, on_detach: Callable[[], None]) -> StdinCopy | None:
    """Start copying our stdin into the container's (see the module docstring)."""
    from minidock.runtime.stdincopy import StdinCopy, endpoint

    rec = ContainerStore(open_store().paths).get(cid)
    if not rec.host_config.get("OpenStdin"):
        return None
    found = endpoint(rec.monitor_pid, rec.pid) if rec.monitor_pid and rec.pid else None
    if found is None:
        return None
    copy = StdinCopy(found[0], found[1], keys, on_detach)
    copy.start()
    return copy


def config_detach_keys() -> str:
    """`detachKeys` of the docker CLI's config file ("" when unset or unreadable)."""
    base = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    try:
        with open(os.path.join(base, "config.json"), "rb") as f:
            from minidock import plainjson

            value = plainjson.loads(f.read()).get("detachKeys", "")
    except (OSError, ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def detach_keys(flag: str, *, exec_: bool = False) -> bytes:
    """The detach sequence as bytes (see the module docstring); PlainError for a bad spec."""
    from minidock.runtime.detachkeys import DEFAULT, to_bytes

    spec = flag or config_detach_keys()
    try:
        return to_bytes(spec or DEFAULT)
    except ValueError:
        if exec_:
            raise PlainError(f"minidock: Invalid escape keys ({spec}) provided") from None
        raise PlainError(f"Invalid detach keys ({spec}) provided") from None


def check_tty(attach_tty: bool, stdin: int) -> None:
    """docker/cli's CheckTty: `-it` (attached) wants a terminal on stdin; Docker's words, exit 1."""
    if attach_tty and not os.isatty(stdin):
        raise PlainError("the input device is not a TTY")
