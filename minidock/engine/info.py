"""What containers look like from outside: ps rows, Docker's inspect JSON, top (processes), stats.

Pure shapes over ContainerRecord (`status_text`, `command_text`, `inspect_json`) plus the readers
of /proc and the container's cgroup (`top`, `stats`). The CLI only renders.
"""

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minidock.engine import glance, lifecycle
from minidock.engine.filters import PsFilter
from minidock.engine.lifecycle import ACTIVE, cgroup_of, open_records
from minidock.engine.logs import LogEntry, TimeWindow, follow, read_entries
from minidock.errors import ConflictError, MinidockError, NotFoundError
from minidock.nouns import NamedTuple
from minidock.store.containers import ContainerStore
from minidock.store.ctrrecord import ContainerRecord
from minidock.store.store import Store

if TYPE_CHECKING:
    from minidock.runtime.cgroups import Cgroup, CgroupStats

def _now(now: datetime | None) -> float | None:
    return None if now is None else now.timestamp()


def status_text(r: ContainerRecord, now: datetime | None = None) -> str:
    """docker ps STATUS (engine/glance.py has the one implementation, over plain records)."""
    return glance.status_text(r._asdict(), _now(now))


def created_text(r: ContainerRecord, now: datetime | None = None) -> str:
    return glance.created_text(r._asdict(), _now(now))


def command_text(r: ContainerRecord, trunc: bool = True) -> str:
    return glance.command_text(r._asdict(), trunc)


def ports_text(r: ContainerRecord) -> str:
    return glance.ports_text(r._asdict())


def list_containers(all_: bool = False, store: Store | None = None,
                    filters: PsFilter | None = None) -> list[ContainerRecord]:
    """Records newest first; only running/paused/restarting ones unless `all_` (or a state filter)."""
    _, records = open_records(store)
    f = filters or PsFilter()
    every = all_ or f.shows_all
    chosen = f.window(records.list(), lambda r: (r.id, r.name))
    return [r for r in chosen if (every or r.status in ACTIVE) and f.matches(r)]


def get(ref: str, store: Store | None = None) -> ContainerRecord:
    _, records = open_records(store)
    return records.get(ref)


def inspect_json(ref: str, store: Store | None = None) -> dict[str, Any]:
    """`docker container inspect` for one container (engine/inspectjson.py)."""
    from minidock.engine.inspectjson import container_json

    _, records = open_records(store)
    return container_json(records.get(ref).to_json(), str(records.paths.root))


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


def top_ps(ref: str, ps_args: list[str], store: Store | None = None) -> tuple[list[str], list[list[str]]]:
    """`top CONTAINER [ps OPTIONS]` as Docker's daemon does it: the host's `ps` with those options
    (and `-q` the container's pids, retried without where an option refuses it), its lines kept
    when their PID column is one of the container's processes: (header, rows)."""
    import shutil
    import subprocess

    _, records = open_records(store)
    r = records.get(ref)
    if r.status not in ("running", "paused"):
        raise ConflictError(f"container {r.id[:12]} is not running")
    pids = sorted(cgroup_of(records, r.id).procs())
    ps = shutil.which("ps")
    if ps is None:
        raise ConflictError("top with ps options needs the host's ps (Debian: procps)")
    args = [a for arg in ps_args for a in arg.split(" ") if a] or ["-ef"]
    run = subprocess.run([ps, *args, "-q", ",".join(map(str, pids))], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        run = subprocess.run([ps, *args], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise ConflictError(f"ps: {run.stderr.strip() or run.returncode}")
    return parse_ps(run.stdout, pids)


def parse_ps(output: str, pids: list[int]) -> tuple[list[str], list[list[str]]]:
    """Docker's parsePSOutput: the header's PID column picks the lines; the last column keeps its spaces."""
    lines = output.splitlines()
    if not lines:
        return [], []
    titles = lines[0].split()
    if "PID" not in titles:
        raise ConflictError("couldn't find PID field in ps output")
    col = titles.index("PID")
    rows = []
    for line in lines[1:]:
        fields = line.split(None, len(titles) - 1)
        if len(fields) > col and fields[col].isdigit() and int(fields[col]) in pids:
            rows.append(fields)
    return titles, rows


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
    net_rx: int = 0
    net_tx: int = 0
    blk_read: int = 0
    blk_write: int = 0

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
        rx, tx = net_bytes(r.pid) if r.status in ("running", "paused") else (0, 0)
        out.append(StatsRow(r.id, r.name, cpu, s.memory_usage, s.memory_limit or _host_memory(), s.pids_current,
                            rx, tx, s.io_read, s.io_write))
    return out


def net_bytes(pid: int) -> tuple[int, int]:
    """Bytes received and sent by the network namespace of `pid` (every interface but lo), as
    `docker stats` adds them up."""
    rx = tx = 0
    try:
        lines = Path(f"/proc/{pid}/net/dev").read_text().splitlines()[2:]
    except OSError:
        return 0, 0
    for line in lines:
        name, _, fields = line.partition(":")
        values = fields.split()
        if name.strip() != "lo" and len(values) >= 9:
            rx, tx = rx + int(values[0]), tx + int(values[8])
    return rx, tx


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
    path = Path(records.dir(rec.id), "log")
    size = path.stat().st_size if path.exists() else 0
    return rec.id, follow(path, lambda: _running(store, rec.id), start=size)


def container_id(ref: str, store: Store | None = None) -> str:
    """The full id of the container `ref` names."""
    _, records = open_records(store)
    return records.get(ref).id


def start_attached(ref: str, store: Store | None = None, then: Callable[[], object] | None = None
                   ) -> Iterator[LogEntry]:
    """`start -a`: start the container and yield its output until it exits (then `wait` has the code);
    `then()` runs once it has started (`start -i` attaches its stdin there)."""
    _, records = open_records(store)
    cid = records.get(ref).id
    path = Path(records.dir(cid), "log")
    size = path.stat().st_size if path.exists() else 0
    lifecycle.start(cid, store)
    if then is not None:
        then()
    yield from follow(path, lambda: _running(store, cid), start=size)
