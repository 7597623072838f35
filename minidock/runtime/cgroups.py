"""cgroups: one interface over the v1 and v2 backends, detection, file I/O (the mapping: cgroupmap.py).

Lifecycle of a group: `detect(root)` picks the driver (v2 when `root` itself is a cgroup2 mount,
i.e. holds `cgroup.controllers`; v1 otherwise, hybrid hosts included); `driver.create(name, resources)`
makes the group under the `minidock/` parent and writes the limits (each write is a traced step);
the parent calls `add(pid)` once the child exists; `stats()`, `freeze()`/`thaw()`, `oom_killed()` while
it runs (any process may `driver.open(name)` the group again); `kill_all()` then `remove()` at the end.
`root` is the seam: tests pass a temporary tree laid out like a cgroup2 file system.
"""

from __future__ import annotations

import errno
import os
import time

from minidock.errors import RuntimeSetupError, UsageError
from minidock.nouns import NamedTuple
from minidock.runtime.cgroupmap import DEFAULT_CFS_PERIOD, title_for
from minidock.runtime.explain import NullTracer, Tracer
from minidock.runtime.syscalls import read_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    from _typeshed import StrPath

    from minidock.oci.runtimespec import Resources
    from minidock.runtime.cgroupmap import Support
else:  # why: the Protocols here are for the type checker; `typing` costs a `run` ~2 ms
    Protocol = object

PARENT = "minidock"
UNLIMITED_V1 = 1 << 62  # v1 reports "no limit" as PAGE_COUNTER_MAX * page size (~2^63)
FREEZE_TIMEOUT = 5.0


class CgroupStats(NamedTuple):
    """A snapshot of a group's usage; limits are None when unlimited."""

    cpu_usage_ns: int
    memory_usage: int
    memory_limit: int | None
    pids_current: int
    pids_limit: int | None
    oom_kills: int
    io_read: int = 0  # bytes read from block devices (blkio / io.stat)
    io_write: int = 0


class Cgroup(Protocol):
    """One container's group. Made by `CgroupDriver.create/open`; ends with `kill_all()` + `remove()`."""

    name: str

    def add(self, pid: int) -> None: ...
    def procs(self) -> list[int]: ...
    def oom_killed(self) -> bool: ...
    def stats(self) -> CgroupStats: ...
    def freeze(self) -> None: ...
    def thaw(self) -> None: ...
    def kill_all(self, sig: int = 9) -> None: ...
    def remove(self) -> None: ...
    def paths(self) -> dict[str, str]: ...
    def real_paths(self) -> dict[str, str]: ...


class CgroupDriver(Protocol):
    """Makes (`create`) or finds (`open`) groups under `<root>/.../minidock/` for one cgroup version."""

    version: int

    def create(self, name: str, resources: Resources, tracer: Tracer | None = None) -> Cgroup: ...
    def open(self, name: str) -> Cgroup: ...
    def update(self, name: str, resources: Resources) -> None: ...
    def support(self) -> Support: ...


def detect(root: str = "/sys/fs/cgroup") -> CgroupDriver:
    """The driver for the hierarchy at `root`: v2 when `root` is cgroup2 (unified), else v1 (hybrid too)."""
    if os.path.isfile(os.path.join(root, "cgroup.controllers")):
        from minidock.runtime.cgroups_v2 import V2Driver
        return V2Driver(root)
    from minidock.runtime.cgroups_v1 import V1_CONTROLLERS, V1Driver
    driver = V1Driver(root)  # why: one directory listing finds the hierarchies (not a stat per name)
    if not any(c in V1_CONTROLLERS for c in driver.controllers):
        raise RuntimeSetupError(f"cgroup: no cgroup2 or cgroup v1 controllers at {root}", stage="cgroup")
    return driver


# ---- behaviour shared by the backends ----------------------------------------------------------

def signal_frozen(cg: Cgroup, sig: int) -> None:
    """Signal every task of `cg`, frozen meanwhile so none can fork past the sweep, then thaw."""
    try:
        cg.freeze()
    except RuntimeSetupError:  # a task that will not freeze (D state): signal anyway
        pass
    try:
        signal_pids(cg.procs(), sig)
    finally:
        cg.thaw()


class removed_on_failure:  # noqa: N801 - used as a function: `with removed_on_failure(cg):`
    """Remove the group being set up when the block fails (a failed remove does not hide the cause).
    A class, not contextlib.contextmanager: contextlib (with collections, functools) costs `run` ~2 ms."""

    __slots__ = ("cg",)

    def __init__(self, cg: Cgroup) -> None:
        self.cg = cg

    def __enter__(self) -> None:
        pass

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            try:
                self.cg.remove()
            except RuntimeSetupError:
                pass


# ---- pure: names (resources -> files: cgroupmap.py) ---------------------------------------------

def group_name(name: str) -> str:
    """`name` as a path relative to the hierarchy's root: a relative name is under the minidock parent
    ("abc" and "minidock/abc" both -> "minidock/abc"); an absolute one (`--cgroup-parent`'s
    "/parent/abc") is where it says ("parent/abc")."""
    parts = [p for p in name.strip("/").split("/") if p]
    if parts and parts[0] == PARENT and not name.startswith("/"):
        parts = parts[1:]
    if not parts or any(p in (".", "..") or not _valid_part(p) for p in parts):
        raise UsageError(f"invalid cgroup name {name!r}")
    return "/".join(parts) if name.startswith("/") else "/".join([PARENT, *parts])


_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-")


def _valid_part(part: str) -> bool:
    """`part` matches [A-Za-z0-9_.:-]+ (a set test: no regular expression compiled on the run path)."""
    return bool(part) and _NAME_CHARS.issuperset(part)


# ---- pure: command-line values ----------------------------------------------------------------

def parse_cpus(text: str) -> tuple[int, int]:
    """`--cpus 0.5` -> (quota 50000, period 100000), as docker's NanoCPUs."""
    from fractions import Fraction  # exact decimal maths; imported only when a limit is given

    try:
        cpus = Fraction(text.strip())
    except (ValueError, ZeroDivisionError) as e:
        raise UsageError(f"invalid cpus value {text!r}: not a number") from e
    nano = cpus * 1_000_000_000
    if nano.denominator != 1:
        raise UsageError(f"invalid cpus value {text!r}: too precise")
    if cpus < Fraction(1, 100):
        raise UsageError(f"invalid cpus value {text!r}: must be at least 0.01")
    return int(nano) * DEFAULT_CFS_PERIOD // 1_000_000_000, DEFAULT_CFS_PERIOD


_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_BYTES = r"(\d+(?:\.\d+)?) ?([kmgtp]?)(?:i?b)?"


def parse_bytes(text: str) -> int:
    """"32m", "1g", "512k", "100" -> bytes (docker's RAMInBytes, binary multiples); "-1" -> -1 (unlimited)."""
    import re  # lazy: only `-m`/`--memory-swap` values are parsed
    from fractions import Fraction

    if text.strip() == "-1":
        return -1
    m = re.fullmatch(_BYTES, text.strip(), re.IGNORECASE)
    if m is None:
        raise UsageError(f"invalid size {text!r}: expected a number with an optional unit (b, k, m, g, t, p)")
    return int(Fraction(m.group(1)) * _UNITS[m.group(2).lower()])


# ---- file I/O shared by the backends -----------------------------------------------------------

_NULL = NullTracer()
_APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
_TRUNCATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC


def _echo_shell(value: str, path: StrPath) -> str:
    return f"echo {value} > {path}"


def write_file(path: StrPath, value: str, tracer: Tracer | None = None, title: str = "") -> None:
    """Write `value` to the cgroup file `path` as one traced step (`echo value > path`)."""
    tr = tracer or _NULL
    name = os.path.basename(path)
    with tr.step(title or title_for(name), _echo_shell, value, path):
        try:
            # one value per write, newline-ended as echo does; procs files are appended to (the
            # kernel ignores the offset; a plain tree laid out like cgroupfs then keeps every pid)
            fd = os.open(path, _APPEND if name in ("cgroup.procs", "tasks") else _TRUNCATE, 0o666)
            try:
                os.write(fd, f"{value}\n".encode())
            finally:
                os.close(fd)
        except OSError as e:
            why = e.strerror if os.path.exists(path) else "no such cgroup file (controller not enabled?)"
            raise RuntimeSetupError(f"cgroup: echo {value} > {path}: {why}", stage="cgroup") from e


def read_text(path: StrPath) -> str:
    """The contents of a cgroup file, "" when it does not exist (a controller that is not there)."""
    try:
        return read_file(path).decode()
    except FileNotFoundError:
        return ""


def read_int(path: StrPath, default: int = 0) -> int:
    """An integer file (`memory.current`, ...); `default` when missing or empty."""
    text = read_text(path).strip()
    return int(text) if text.lstrip("-").isdigit() else default


def read_keyed(path: StrPath) -> dict[str, int]:
    """A flat keyed file (`memory.events`, `cpu.stat`, `memory.oom_control`) as {key: int}."""
    out: dict[str, int] = {}
    for line in read_text(path).splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            out[key] = int(value)
    return out


def read_pids(path: StrPath) -> list[int]:
    """The pids listed in a `cgroup.procs` file, in order, without duplicates."""
    return list(dict.fromkeys(int(w) for w in read_text(path).split() if w.isdigit()))


def signal_pids(pids: list[int], sig: int) -> None:
    """Send `sig` to each pid; one that has already gone is fine."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def make_dir(path: StrPath, tracer: Tracer | None, title: str) -> bool:
    """mkdir `path` (parents included) as a traced step; True when it was created now.

    The mkdir is tried first (one syscall for a new group); an existing directory is no step."""
    t0 = time.perf_counter()
    try:
        try:
            os.mkdir(path)
        except FileExistsError:
            if os.path.isdir(path):
                return False
            raise
        except FileNotFoundError:
            os.makedirs(path, exist_ok=True)
    except OSError as e:
        _note_mkdir(tracer, title, path, t0)
        raise RuntimeSetupError(f"cgroup: mkdir {path}: {e.strerror}", stage="cgroup") from e
    _note_mkdir(tracer, title, path, t0)
    return True


def _note_mkdir(tracer: Tracer | None, title: str, path: StrPath, t0: float) -> None:
    if tracer is not None and tracer.enabled:
        tracer.note(title, f"mkdir -p {path}", (time.perf_counter() - t0) * 1000.0)


def remove_dir(path: StrPath, timeout: float = 2.0) -> None:
    """rmdir a group, retrying while its last processes drain (EBUSY); missing is fine.

    A cgroup file system never answers ENOTEMPTY (busy groups give EBUSY): ENOTEMPTY means a plain
    directory laid out like a group (the test seam), so its regular files go first.
    """
    deadline, emptied = time.monotonic() + timeout, False
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if e.errno == errno.ENOTEMPTY and not emptied:
                emptied = True
                for entry in os.scandir(path):
                    if entry.is_file(follow_symlinks=False):
                        os.unlink(entry.path)
                continue
            if e.errno != errno.EBUSY or time.monotonic() > deadline:
                raise RuntimeSetupError(f"cgroup: rmdir {path}: {e.strerror}", stage="cgroup") from e
        time.sleep(0.01)
