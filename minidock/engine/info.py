"""What containers look like from outside: ps rows, Docker's inspect JSON, top (processes), stats.

Pure shapes over ContainerRecord (`status_text`, `command_text`, `inspect_json`) plus the readers
of /proc and the container's cgroup (`top`, `stats`). The CLI only renders.
"""

import contextlib
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from minidock.engine import lifecycle
from minidock.engine.filters import PsFilter
from minidock.engine.humanize import human_duration
from minidock.engine.lifecycle import ACTIVE, cgroup_of, open_records, spec_of
from minidock.engine.logs import LogEntry, TimeWindow, follow, read_entries
from minidock.errors import ConflictError, MinidockError, NotFoundError
from minidock.store.containers import ContainerRecord, ContainerStore
from minidock.store.store import Store

if TYPE_CHECKING:
    from minidock.runtime.cgroups import Cgroup, CgroupStats

ZERO_TIME = "0001-01-01T00:00:00Z"


def _since(rfc3339: str, now: datetime | None = None) -> float:
    """Seconds from an RFC 3339 time (any fraction length) to now; 0 when it does not parse."""
    m = re.fullmatch(r"([^.]+?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?", rfc3339.strip())
    if m is None:
        return 0.0
    zone = "+00:00" if m.group(3) in (None, "Z") else m.group(3)
    try:
        t = datetime.fromisoformat(f"{m.group(1)}.{(m.group(2) or '0')[:6]:0<6}{zone}")
    except ValueError:
        return 0.0
    return ((now or datetime.now(UTC)) - t).total_seconds()


def status_text(r: ContainerRecord, now: datetime | None = None) -> str:
    """docker ps STATUS: "Up 3 seconds", "Up 5 seconds (Paused)", "Exited (0) 2 minutes ago", "Created"."""
    if r.status in ("running", "paused"):
        up = f"Up {human_duration(_since(r.started_at, now))}"
        if r.status == "paused":
            return up + " (Paused)"
        health = r.health.get("Status") if r.health else None
        return f"{up} (health: starting)" if health == "starting" else f"{up} ({health})" if health else up
    if r.status == "restarting":
        return f"Restarting ({r.exit_code}) {human_duration(_since(r.finished_at, now))} ago"
    if r.status == "exited":
        return f"Exited ({r.exit_code}) {human_duration(_since(r.finished_at, now))} ago"
    return r.status.capitalize()


def created_text(r: ContainerRecord, now: datetime | None = None) -> str:
    return f"{human_duration(_since(r.created, now))} ago"


def _quote(word: str) -> str:
    return word if word and not any(c in word for c in " \t\"'\\") else '"' + word.replace('"', '\\"') + '"'


def command_text(r: ContainerRecord, trunc: bool = True) -> str:
    """docker ps COMMAND: the command line quoted, cut to 20 characters with an ellipsis."""
    text = " ".join(r.command)
    if trunc and len(text) > 20:
        text = text[:19] + "…"
    return f'"{text}"'


def ports_text(r: ContainerRecord) -> str:
    """docker ps PORTS from the network attachment ("0.0.0.0:8080->80/tcp")."""
    out = []
    for p in (r.network or {}).get("ports", []) or []:
        if isinstance(p, dict):
            ip = p.get("host_ip") or "0.0.0.0"
            out.append(f"{ip}:{p.get('host_port')}->{p.get('container_port')}/{p.get('protocol', 'tcp')}")
    return ", ".join(out)


def list_containers(all_: bool = False, store: Store | None = None,
                    filters: PsFilter | None = None) -> list[ContainerRecord]:
    """Records newest first; only running/paused/restarting ones unless `all_` (or a state filter)."""
    _, records = open_records(store)
    f = filters or PsFilter()
    every = all_ or f.shows_all
    return [r for r in records.list() if (every or r.status in ACTIVE) and f.matches(r)]


def get(ref: str, store: Store | None = None) -> ContainerRecord:
    _, records = open_records(store)
    return records.get(ref)


def inspect_json(ref: str, store: Store | None = None) -> dict[str, Any]:
    """`docker container inspect` for one container."""
    _, records = open_records(store)
    r = records.get(ref)
    try:
        spec = spec_of(records, r.id)
        proc: dict[str, Any] = spec.process.to_json()
        hostname, mounts = spec.hostname, [m.to_json() for m in spec.mounts if m.type == "bind"]
    except MinidockError:
        proc, hostname, mounts = {}, "", []
    args = list(r.command)
    state = {"Status": r.status, "Running": r.status in ("running", "paused"), "Paused": r.status == "paused",
             "Restarting": r.status == "restarting", "OOMKilled": r.oom_killed, "Dead": r.status == "dead",
             "Pid": r.pid if r.status in ACTIVE else 0, "ExitCode": r.exit_code, "Error": r.error,
             "StartedAt": r.started_at or ZERO_TIME, "FinishedAt": r.finished_at or ZERO_TIME}
    config = {"Hostname": hostname, "User": (proc.get("user") or {}).get("username", ""),
              "Tty": bool(proc.get("terminal")), "OpenStdin": bool(r.host_config.get("OpenStdin")),
              "Env": proc.get("env", []), "Cmd": args, "Image": r.image, "WorkingDir": proc.get("cwd", "")}
    return {"Id": r.id, "Created": r.created, "Path": args[0] if args else "", "Args": args[1:],
            "State": state, "Image": r.image_id, "Name": "/" + r.name, "RestartCount": r.restart_count,
            "LogPath": str(records.dir(r.id) / "log"), "HostConfig": dict(r.host_config),
            "Mounts": [{"Type": "bind", "Source": m["source"], "Destination": m["destination"],
                        "RW": "ro" not in m.get("options", [])} for m in mounts],
            "Config": config, "NetworkSettings": dict(r.network)}


class ProcessRow(NamedTuple):
    """One process of `top`: ps -ef's columns."""

    uid: str
    pid: int
    ppid: int
    stime: str
    tty: str
    time: str
    cmd: str


def _proc_row(pid: int, boot: float, hz: int) -> ProcessRow | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        uid = next(line.split()[1] for line in status if line.startswith("Uid:"))
    except (OSError, StopIteration):
        return None  # it exited meanwhile
    comm, _, rest = stat.rpartition(")")
    f = rest.split()
    ppid, tty_nr, cpu = int(f[1]), int(f[4]), (int(f[11]) + int(f[12])) // hz
    started = boot + int(f[19]) / hz
    cmd = cmdline.replace(b"\0", b" ").decode(errors="replace").strip() or f"[{comm.partition('(')[2]}]"
    tty = "?" if tty_nr == 0 else f"pts/{(tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00)}"
    return ProcessRow(uid, pid, ppid, time.strftime("%H:%M", time.localtime(started)), tty,
                      f"{cpu // 3600:02d}:{cpu // 60 % 60:02d}:{cpu % 60:02d}", cmd)


def top(ref: str, store: Store | None = None) -> list[ProcessRow]:
    """The container's processes (every pid of its cgroup), host pids as Docker shows them."""
    _, records = open_records(store)
    r = records.get(ref)
    if r.status not in ("running", "paused"):
        raise ConflictError(f"container {r.id[:12]} is not running")
    hz = os.sysconf("SC_CLK_TCK")
    boot = time.time() - float(Path("/proc/uptime").read_text().split()[0])
    rows = (_proc_row(p, boot, hz) for p in sorted(cgroup_of(records, r.id).procs()))
    return [row for row in rows if row is not None]


class StatsRow(NamedTuple):
    """One line of `stats --no-stream`."""

    id: str
    name: str
    cpu_percent: float
    mem_usage: int
    mem_limit: int
    pids: int

    @property
    def mem_percent(self) -> float:
        return self.mem_usage * 100.0 / self.mem_limit if self.mem_limit else 0.0


def _host_memory() -> int:
    with contextlib.suppress(OSError, StopIteration, ValueError):
        line = next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal:"))
        return int(line.split()[1]) * 1024
    return 0


def stats(refs: list[str], store: Store | None = None, interval: float = 0.5) -> list[StatsRow]:
    """CPU % (two samples `interval` apart), memory usage/limit, pids of running containers."""
    _, records = open_records(store)
    recs = [records.get(x) for x in refs] if refs else [r for r in records.list() if r.status in ("running", "paused")]
    groups = {r.id: _group_or_none(records, r.id) for r in recs}
    first = {cid: _sample(g).cpu_usage_ns for cid, g in groups.items()}
    t0 = time.monotonic()
    time.sleep(interval)
    wall = (time.monotonic() - t0) * 1e9
    out = []
    for r in recs:
        s = _sample(groups[r.id])
        cpu = max(0.0, (s.cpu_usage_ns - first[r.id]) * 100.0 / wall) if wall else 0.0
        out.append(StatsRow(r.id, r.name, cpu, s.memory_usage, s.memory_limit or _host_memory(), s.pids_current))
    return out


def _group_or_none(records: ContainerStore, cid: str) -> "Cgroup | None":
    """The container's cgroup; None once it stopped (its row shows zeros, as Docker's does)."""
    try:
        return cgroup_of(records, cid)
    except NotFoundError:
        return None


def _sample(group: "Cgroup | None") -> "CgroupStats":
    from minidock.runtime.cgroups import CgroupStats

    if group is None:
        return CgroupStats(0, 0, None, 0, None, 0)
    try:
        return group.stats()
    except (MinidockError, OSError):  # why: removed between two samples (the container stopped)
        return CgroupStats(0, 0, None, 0, None, 0)


def container_logs(ref: str, follow_: bool = False, tail: int = -1, store: Store | None = None,
                   window: TimeWindow | None = None) -> Iterator[LogEntry]:
    """The container's log entries (the last `tail` of those inside `window`: --since/--until);
    with `follow_`, then new ones until it stops (or the window's end passes)."""
    rec, path = lifecycle.log_path(ref, store)
    cid = rec.id
    size = path.stat().st_size if path.exists() else 0
    w = window or TimeWindow()
    past = read_entries(path, tail if window is None else -1, limit=size)
    if window is not None:
        past = [e for e in past if w.contains(e)]
        past = past[-tail:] if tail > 0 else ([] if tail == 0 else past)
    yield from past
    if not follow_ or not path.exists() or (w.until is not None and time.time() > w.until):
        return
    until = w.until

    def going() -> bool:
        return _running(store, cid) and (until is None or time.time() <= until)
    yield from (e for e in follow(path, going, start=size) if w.contains(e))


def _running(store: Store | None, cid: str) -> bool:
    try:
        return open_records(store)[1].get(cid).status in ACTIVE
    except NotFoundError:
        return False


def attach(ref: str, store: Store | None = None) -> tuple[str, Iterator[LogEntry]]:
    """`attach`: a running container's id and its output from now on (the log followed from its
    current end) until it stops; then `lifecycle.wait` has the exit code. Output only: no stdin."""
    _, records = open_records(store)
    rec = records.get(ref)
    if rec.status not in ACTIVE:
        raise ConflictError(f"attach {ref}: you cannot attach to a stopped container, start it first")
    path = records.dir(rec.id) / "log"
    size = path.stat().st_size if path.exists() else 0
    return rec.id, follow(path, lambda: _running(store, rec.id), start=size)


def start_attached(ref: str, store: Store | None = None) -> Iterator[LogEntry]:
    """`start -a`: start the container and yield its output until it exits (then `wait` has the code)."""
    _, records = open_records(store)
    cid = records.get(ref).id
    path = records.dir(cid) / "log"
    size = path.stat().st_size if path.exists() else 0
    lifecycle.start(cid, store)
    yield from follow(path, lambda: _running(store, cid), start=size)
