"""Container lifecycle without a daemon: run -d, start, stop, kill, restart, pause, wait, rm, prune.

Every verb resolves the container like Docker (full id, name, or unique id prefix), acts on the
kernel objects directly (signals to the recorded pid, the cgroup freezer, the cgroup's process
list) and on the record in the store; the per-container monitor (engine/monitor.py) owns the
running container and writes its exit into state.json. Verbs that wait for an exit poll the
record (refresh() reports a dead monitor as exited), so they work from any process.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from pathlib import Path

from minidock.engine.events import emit_container
from minidock.engine.host import CGROUP_ROOT
from minidock.engine.lookup import open_store
from minidock.errors import ConflictError, MinidockError, NotFoundError, UsageError
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import ImageConfig
from minidock.oci.runtimespec import Spec
from minidock.store.atomic import read_json
from minidock.store.containers import ContainerStore
from minidock.store.ctrrecord import ContainerRecord
from minidock.store.store import Store

TYPE_CHECKING = False
if TYPE_CHECKING:  # the verbs below import their engines when used: `ps` must stay light
    from minidock.engine.containers import Puller
    from minidock.engine.filters import PruneFilter
    from minidock.engine.netwire import NetSession
    from minidock.engine.request import RunRequest
    from minidock.runtime.cgroups import Cgroup

ACTIVE = ("running", "paused", "restarting")
DEFAULT_STOP_TIMEOUT = 10
POLL = 0.02


def open_records(store: Store | None) -> tuple[Store, ContainerStore]:
    """The store and its records, with what crashed supervisors left taken back first (engine/reclaim)."""
    from minidock.engine.reclaim import reclaim_pending

    store = store or open_store()
    records = ContainerStore(store.paths)
    reclaim_pending(store, records)
    return store, records


def spec_of(records: ContainerStore, cid: str) -> Spec:
    """The runtime spec written at create time (containers/<id>/config.json)."""
    d = read_json(f"{records.dir(cid)}/config.json", None)
    if not isinstance(d, dict):
        raise NotFoundError(f"container {cid[:12]}: config.json is missing")
    return Spec.from_json(d)


def cgroup_of(records: ContainerStore, cid: str) -> Cgroup:
    """The container's cgroup (opened by name; it may no longer exist)."""
    from minidock.runtime import cgroups

    return cgroups.detect(CGROUP_ROOT).open(spec_of(records, cid).linux.cgroups_path or f"minidock/{cid}")


def run_detached(req: RunRequest, pull: Puller | None = None, store: Store | None = None) -> str:
    """`run -d`: create, hand the container to a new monitor, return its full id once it has started."""
    from minidock.engine.containers import create

    created = create(req, pull, store)
    start(created.record.id, created.store, created.net_session())
    return created.record.id


def start(ref: str, store: Store | None = None, network: NetSession | None = None) -> ContainerRecord:
    """Start a created or exited container under a new monitor; returns the record (running).

    `network` wires its netns (run -d passes the session planned at create; `start` of a stored
    container has none yet: the lead's network wiring plans it from the record)."""
    from minidock.engine.containers import remove_files
    from minidock.engine.logopts import LogOptions
    from minidock.engine.monitor import MonitorJob, spawn
    from minidock.engine.restart import RestartPolicy

    store, records = open_records(store)
    rec = records.get(ref)
    if rec.status == "paused":
        raise ConflictError(f"cannot start a paused container {ref}, try unpause instead")
    if rec.status in ACTIVE:
        return rec
    kill_leftovers(records, rec)
    hc = rec.host_config
    if hc.get("Gpus"):  # `create --gpus` keeps the request; Docker's daemon refuses it here
        from minidock.engine.extraflags import refuse_gpus

        refuse_gpus(str(hc["Gpus"]))
    log_conf = hc.get("LogConfig") or {}
    if network is None:
        from minidock.engine import netwire

        network = netwire.session_for(store.paths, rec)
    from minidock.engine.nsmodes import rejoin

    # why: a joined container (--pid/--ipc container:) must run now, and its PID 1 is found again
    job = MonitorJob(paths=store.paths, cid=rec.id, spec=rejoin(spec_of(records, rec.id), hc, store.paths),
                     restart=RestartPolicy.from_json(hc.get("RestartPolicy")),
                     auto_remove=bool(hc.get("AutoRemove")),
                     log=LogOptions.parse([f"{k}={v}" for k, v in (log_conf.get("Config") or {}).items()]),
                     keep_stdin=bool(hc.get("OpenStdin")), cgroup_root=str(CGROUP_ROOT), network=network,
                     healthcheck=(hc.get("Config") or {}).get("Healthcheck"),
                     log_driver=log_conf.get("Type") or "json-file")
    records.update(rec.id, manual_stop=False, restart_count=0)
    try:
        spawn(job)
    except MinidockError:
        if job.auto_remove:
            remove_files(store, rec.id)
        raise
    return records.get(rec.id)


def kill_leftovers(records: ContainerStore, rec: ContainerRecord) -> None:
    """Processes of an earlier run whose monitor died are killed, their cgroup removed. Each step
    stands alone: a supervisor killed while it made the group leaves only some controllers' (no
    freezer to thaw), and those must still go."""
    try:
        cg = cgroup_of(records, rec.id)
    except (MinidockError, OSError):
        return
    for step in (cg.thaw, lambda: cg.kill_all(signal.SIGKILL), cg.remove):
        with contextlib.suppress(MinidockError, OSError):
            step()


def parse_signal(text: str) -> int:
    """"TERM", "SIGTERM", "15", "sigkill" -> the signal number."""
    t = text.strip().upper()
    if t.isdigit():
        n = int(t)
        if 0 < n < signal.NSIG:
            return n
    else:
        name = t if t.startswith("SIG") else "SIG" + t
        with contextlib.suppress(KeyError):
            return int(signal.Signals[name])
    raise UsageError(f"invalid signal: {text}")


def stop_signal(store: Store, rec: ContainerRecord) -> int:
    """The container's StopSignal (--stop-signal, else the image's, as recorded at create), else SIGTERM."""
    recorded = (rec.host_config.get("Config") or {}).get("StopSignal")
    if recorded:
        return parse_signal(recorded)
    try:
        config = ImageConfig.from_bytes(store.content.read(Digest.parse(rec.image_id)), rec.image_id)
    except (MinidockError, OSError, ValueError):
        return signal.SIGTERM
    return parse_signal(config.config.stop_signal) if config.config.stop_signal else signal.SIGTERM


def _signal(rec: ContainerRecord, sig: int) -> None:
    if rec.pid > 0:
        with contextlib.suppress(ProcessLookupError):
            os.kill(rec.pid, sig)


def _wait_pid(pid: int, timeout: float) -> bool:
    """Wait up to `timeout` seconds for `pid` to exit (any process: pidfd); True when it is gone."""
    if pid <= 0:
        return True
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], max(timeout, 0))[0])
    finally:
        os.close(fd)


def _wait_settled(records: ContainerStore, cid: str, timeout: float = 5.0) -> ContainerRecord | None:
    """Wait until the monitor has recorded the exit (None: the record is gone, e.g. --rm)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            rec = records.get(cid)
        except NotFoundError:
            return None
        if rec.status not in ACTIVE or time.monotonic() > deadline:
            return rec
        time.sleep(POLL)


def stop(ref: str, timeout: int | None = None, store: Store | None = None) -> str:
    """Stop signal (image StopSignal or SIGTERM), SIGKILL after `timeout` s (10); no restart after."""
    store, records = open_records(store)
    rec = records.get(ref)
    if rec.status not in ACTIVE:
        return rec.id
    rec = records.update(rec.id, manual_stop=True)
    if rec.status == "restarting" or not rec.pid:
        _wait_settled(records, rec.id)
        return rec.id
    sig = stop_signal(store, rec)
    _signal(rec, sig)
    emit_container(store.paths, rec, "kill", signal=str(int(sig)))
    if rec.status == "paused":  # why: a frozen process cannot act on the signal
        _thaw(records, rec)
    if timeout is None:
        timeout = (rec.host_config.get("Config") or {}).get("StopTimeout", DEFAULT_STOP_TIMEOUT)
    if timeout is None or timeout < 0:
        timeout = 10**9  # why: Docker's -1 waits for as long as it takes
    if not _wait_pid(rec.pid, timeout):
        emit_container(store.paths, rec, "kill", signal=str(int(signal.SIGKILL)))
        _kill_all(records, rec)
    _wait_settled(records, rec.id)
    emit_container(store.paths, rec, "stop")
    return rec.id


def _thaw(records: ContainerStore, rec: ContainerRecord) -> None:
    with contextlib.suppress(MinidockError, OSError):
        cgroup_of(records, rec.id).thaw()
    with contextlib.suppress(NotFoundError):
        records.update(rec.id, status="running")


def _kill_all(records: ContainerStore, rec: ContainerRecord) -> None:
    _signal(rec, signal.SIGKILL)
    with contextlib.suppress(MinidockError, OSError):
        cgroup_of(records, rec.id).kill_all(signal.SIGKILL)
    _wait_pid(rec.pid, 5.0)


def kill(ref: str, sig: str = "KILL", store: Store | None = None) -> str:
    """Send a signal to the container's PID 1 (a running container only)."""
    store, records = open_records(store)
    rec = records.get(ref)
    if rec.status not in ACTIVE or not rec.pid:
        raise ConflictError(f"cannot kill container {ref}: container {rec.id[:12]} is not running")
    n = parse_signal(sig)
    _signal(rec, n)
    emit_container(store.paths, rec, "kill", signal=str(int(n)))
    if n == signal.SIGKILL:
        _wait_pid(rec.pid, 5.0)
        _wait_settled(records, rec.id)
    return rec.id


def restart(ref: str, timeout: int | None = None, store: Store | None = None) -> str:
    """stop, then start (an --rm container is kept in between, as Docker keeps it)."""
    store, records = open_records(store)
    rec = records.update(records.get(ref).id, restarting=True)
    cid = rec.id
    try:
        stop(cid, timeout, store)
        _wait_pid(rec.monitor_pid, 5.0)  # why: the old monitor decides about --rm before the flag goes
    finally:
        records.update(cid, restarting=False)
    start(cid, store)
    emit_container(store.paths, store_record(store, cid), "restart")
    return cid


def pause(ref: str, store: Store | None = None) -> str:
    """Freeze every process of the container (cgroup freezer)."""
    store, records = open_records(store)
    rec = records.get(ref)
    if rec.status == "paused":
        raise ConflictError(f"container {rec.id[:12]} is already paused")
    if rec.status != "running":
        raise ConflictError(f"container {rec.id[:12]} is not running")
    cgroup_of(records, rec.id).freeze()
    records.update(rec.id, status="paused")
    emit_container(store.paths, rec, "pause")
    return rec.id


def unpause(ref: str, store: Store | None = None) -> str:
    """Thaw a paused container."""
    store, records = open_records(store)
    rec = records.get(ref)
    if rec.status != "paused":
        raise ConflictError(f"container {rec.id[:12]} is not paused")
    cgroup_of(records, rec.id).thaw()
    records.update(rec.id, status="running")
    emit_container(store.paths, rec, "unpause")
    return rec.id


def wait_removed(cid: str, store: Store | None = None) -> int:
    """`wait` for a container that may be removed as it ends (`--rm`): its code from the record, or
    from the "die" event the journal kept once the record is gone."""
    try:
        return wait(cid, store)
    except NotFoundError:
        from minidock.store import events as journal

        store, _ = open_records(store)
        past, _ = journal.read(store.paths)
        for ev in reversed(past):
            actor = ev.get("Actor") or {}
            if actor.get("ID") == cid and ev.get("Action") == "die":
                return int((actor.get("Attributes") or {}).get("exitCode", 0))
        raise


def wait(ref: str, store: Store | None = None) -> int:
    """Block until the container is not running; its exit code (polls the record: any process may wait)."""
    _, records = open_records(store)
    rec = records.get(ref)
    last = rec.exit_code
    while True:
        if rec.status in ("exited", "dead") or (rec.status == "created" and rec.error):
            return rec.exit_code
        time.sleep(POLL * 2)
        try:
            rec = records.get(rec.id)
        except NotFoundError:
            return last  # removed (--rm) after its exit
        last = rec.exit_code


def remove(ref: str, force: bool = False, store: Store | None = None, *, volumes: bool = False) -> str:
    """Remove a container: its processes (with force), cgroup, rootfs snapshot and record;
    `volumes` (rm -v): its anonymous volumes too."""
    store, records = open_records(store)
    rec = records.get(ref)
    if rec.status in ACTIVE:
        if not force:
            raise ConflictError(f"cannot remove container {ref}: container is running: stop the container "
                                "before removing or force remove")
        rec = records.update(rec.id, manual_stop=True)
        if rec.status == "paused":
            _thaw(records, rec)
        _kill_all(records, rec)
        _wait_pid(rec.monitor_pid, 5.0)
    kill_leftovers(records, rec)
    with contextlib.suppress(MinidockError, OSError):
        from minidock.engine import netwire

        netwire.release(store.paths, rec.id, records.get(rec.id).network)
    from minidock.engine.containers import remove_files

    remove_files(store, rec.id, volumes=volumes)
    return rec.id


def prune(store: Store | None = None, filters: PruneFilter | None = None) -> list[str]:
    """Remove every stopped container (those `filters` select: until=, label=, label!=); their ids."""
    store, records = open_records(store)
    out = []
    for rec in records.list():
        labels = (rec.host_config.get("Config") or {}).get("Labels") or {}
        if rec.status not in ACTIVE and (filters is None or filters.matches(rec.created, labels)):
            with contextlib.suppress(NotFoundError):
                out.append(remove(rec.id, store=store))
    return out


def log_path(ref: str, store: Store | None = None) -> tuple[ContainerRecord, Path]:
    """The record and the live json-file log of a container (none with `--log-driver none`)."""
    _, records = open_records(store)
    rec = records.get(ref)
    if (rec.host_config.get("LogConfig") or {}).get("Type") == "none":
        err = ConflictError("configured logging driver does not support reading")
        err.exit_code = 1
        raise err
    return rec, Path(records.dir(rec.id), "log")


def rename(ref: str, name: str, store: Store | None = None) -> ContainerRecord:
    """`rename CONTAINER NEW_NAME` (a refusal exits 1, as Docker's daemon errors do)."""
    store, records = open_records(store)
    try:
        old = records.get(ref)
        new = records.rename(old.id, name)
        emit_container(store.paths, new, "rename", oldName=f"/{old.name}")
        return new
    except (ConflictError, UsageError) as e:
        e.exit_code = 1
        raise


def store_record(store: Store, cid: str) -> ContainerRecord:
    return ContainerStore(store.paths).get(cid)
