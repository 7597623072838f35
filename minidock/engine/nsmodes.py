"""Docker's namespace flags of `run`/`create` (--pid, --ipc, --uts, --cgroupns, --userns; --group-add
is recorded here too), from the command line to the container's spec.

Lifecycle: `check(req)` before anything is written (what Docker's client and daemon refuse, in their
words) -> `host_config(req, paths)`: the inspect fields, `container:NAME` recorded as
`container:<id>` (a missing one is refused, as Docker's create does) -> `apply(spec, hc, paths)` after
build_spec: which namespaces the container makes, shares with the host or joins, and its /dev/shm ->
`rejoin(spec, hc, paths)` just before each start: a joined container's PID 1 is another process
after each of its starts, and Docker checks only then that it runs (and, for IPC, that it shares).

Modes: `--pid host` (the host's PID namespace: /proc shows the host's processes), `--pid
container:X` (X's); `--ipc private` (the default), `shareable` (the same, and others may join it),
`none` (no /dev/shm), `host` (the host's, with its /dev/shm), `container:X` (X's, with X's /dev/shm:
X must be shareable); `--uts host`; `--cgroupns host|private`; `--userns host` (the only one without
userns-remap, which minidock does not have).

minidock's default cgroup namespace is `private`, on cgroup v1 too, where Docker 20.10's is `host`
(it is `private` on v2): minidock always gave each container its own, and `host` shows the host's
group paths in /proc/self/cgroup (README, Differences from Docker).
"""

from __future__ import annotations

from minidock.errors import ConflictError, InvalidParameterError, NotFoundError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from minidock.engine.request import RunRequest
    from minidock.oci.runtimespec import Mount, Spec
    from minidock.paths import Paths

IPC_MODES = ("private", "shareable", "none", "host")
DEFAULT_IPC = "private"  # Docker 20.10's daemon default (default-ipc-mode)
DEFAULT_CGROUPNS = "private"  # see the module docstring
SHM = "/dev/shm"
_IPC_SYSCTL_PREFIXES = ("kernel.msg", "kernel.sem", "kernel.shm", "fs.mqueue.")


def _names_container(mode: str) -> bool:
    """`container:NAME`, as Docker's PidMode.Valid reads it (one colon, a name after it)."""
    kind, _, name = mode.partition(":")
    return kind == "container" and bool(name) and ":" not in name


def check(req: RunRequest) -> None:
    """Docker's refusals: its client's first (UsageError: 125), then its daemon's (InvalidParameterError:
    `create` exits 1)."""
    if req.pid not in ("", "host") and not _names_container(req.pid):
        raise UsageError("--pid: invalid PID mode")
    if req.uts not in ("", "host"):
        raise UsageError("--uts: invalid UTS mode")
    if req.cgroupns not in ("", "host", "private"):
        raise UsageError("--cgroupns: invalid CGROUP mode")
    if req.userns not in ("", "host"):
        raise UsageError("--userns: invalid USER mode")
    if req.ipc and req.ipc not in IPC_MODES and not req.ipc.startswith("container:"):
        raise InvalidParameterError(f"invalid IPC mode: {req.ipc}")
    if req.ipc == "container:":
        raise InvalidParameterError('can\'t join IPC of container : invalid name or ID supplied: ""')
    if req.uts == "host" and req.hostname:
        raise InvalidParameterError("conflicting options: hostname and the UTS mode")
    if req.dns and req.network.startswith("container:"):
        raise InvalidParameterError("conflicting options: dns and the network mode")
    if req.ipc == "host":
        for item in req.sysctls:
            key = item.partition("=")[0]
            if key.startswith(_IPC_SYSCTL_PREFIXES):
                raise UsageError(f'sysctl "{key}" is not allowed in the hosts ipc namespace')


def host_config(req: RunRequest, paths: Paths) -> dict[str, object]:
    """The HostConfig fields of inspect, Docker's names and defaults (`container:` with the full id)."""
    return {"PidMode": _by_id(req.pid, paths), "IpcMode": _by_id(req.ipc, paths) or DEFAULT_IPC,
            "UTSMode": req.uts, "CgroupnsMode": req.cgroupns or DEFAULT_CGROUPNS, "UsernsMode": req.userns,
            "GroupAdd": list(req.group_add) or None}


def _by_id(mode: str, paths: Paths) -> str:
    if not mode.startswith("container:"):
        return mode
    from minidock.store.containers import ContainerStore

    return f"container:{ContainerStore(paths).get(mode.partition(':')[2]).id}"


def _target(kind: str, mode: str, paths: Paths, starting: bool) -> int:
    """The host PID of the container that `mode` (`container:<id>`) joins; at a start, Docker's checks
    (it exists, it runs; for IPC: it shares its namespace) with Docker's words."""
    from minidock.store.containers import ContainerStore

    cid = mode.partition(":")[2]
    why = f"can't join IPC of container {cid}: " if kind == "ipc" else ""
    try:
        rec = ContainerStore(paths).get(cid)
    except NotFoundError as e:
        raise NotFoundError(f"{why}{e}") from e
    if not starting:
        return rec.pid
    if rec.status == "restarting":
        raise ConflictError(f"{why}container {rec.id} is restarting, wait until the container is running")
    if rec.status not in ("running", "paused") or not rec.pid:
        raise ConflictError(f"{why}container {rec.id} is not running")
    shares = str(rec.host_config.get("IpcMode") or DEFAULT_IPC)
    if kind == "ipc" and shares != "shareable" and not shares.startswith("container:"):
        raise ConflictError(f"{why}non-shareable IPC (hint: use IpcMode:shareable for the donor container)")
    return rec.pid


def _modes(hc: Mapping[str, object], paths: Paths, starting: bool) -> tuple[str, str, int]:
    """(pid mode, ipc mode, the IPC donor's PID or 0) for the spec: a joined namespace as its path."""
    pid, ipc = str(hc.get("PidMode") or ""), str(hc.get("IpcMode") or DEFAULT_IPC)
    if pid.startswith("container:"):
        pid = f"/proc/{_target('pid', pid, paths, starting)}/ns/pid"
    donor = 0
    if ipc.startswith("container:"):
        donor = _target("ipc", ipc, paths, starting)
        ipc = f"/proc/{donor}/ns/ipc"
    return pid, ipc, donor


def _donor_shm(pid: int) -> str:
    """The donor's /dev/shm, as its PID names it (runtime/crossns.py mounts it from its namespace)."""
    return f"/proc/{pid}/root{SHM}"


def apply(spec: Spec, hc: Mapping[str, object], paths: Paths) -> Spec:
    """`spec` (build_spec's) with the namespaces and the /dev/shm the recorded modes ask for."""
    from minidock.oci.runtimespec import Mount, namespaces_for

    pid, ipc, donor = _modes(hc, paths, starting=False)
    net = next((n.path for n in spec.linux.namespaces if n.type == "network"), "host")
    namespaces = namespaces_for(net, pid=pid, ipc=ipc, uts=str(hc.get("UTSMode") or ""),
                                cgroup="host" if hc.get("CgroupnsMode") == "host" else "")
    mounts = spec.mounts
    if ipc not in ("private", "shareable"):  # why: the default /dev/shm (with_shm_size sized it) goes
        shm: tuple[Mount, ...] = ()  # none: no /dev/shm at all, as Docker's
        if ipc == "host":  # the host's IPC namespace with the host's POSIX shared memory (Docker binds it)
            shm = (Mount(SHM, "bind", SHM, ("rbind", "rprivate")),)
        elif ipc.startswith("/proc/"):  # the donor's own (its PID found again at each start: rejoin)
            shm = (Mount(SHM, "bind", _donor_shm(donor), ("rbind", "rprivate")),)
        mounts = tuple(x for m in spec.mounts for x in (shm if _default_shm(m) else (m,)))
    return spec._replace(linux=spec.linux._replace(namespaces=namespaces), mounts=mounts)


def _default_shm(m: Mount) -> bool:
    return m.destination == SHM and m.type == "tmpfs" and m.source == "shm"


def rejoin(spec: Spec, hc: Mapping[str, object], paths: Paths) -> Spec:
    """At a start: the joined namespaces (and the donor's /dev/shm) of the target's PID 1 now, after
    Docker's checks; `spec` as it is when it joins nothing."""
    pid_mode, ipc_mode = str(hc.get("PidMode") or ""), str(hc.get("IpcMode") or "")
    if not (pid_mode.startswith("container:") or ipc_mode.startswith("container:")):
        return spec
    pid, ipc, donor = _modes(hc, paths, starting=True)
    fresh = {"pid": pid, "ipc": ipc}
    namespaces = tuple(n._replace(path=fresh[n.type]) if n.path and fresh.get(n.type, "").startswith("/proc/")
                       else n for n in spec.linux.namespaces)
    mounts = tuple(m._replace(source=_donor_shm(donor)) if donor and m.destination == SHM and m.type == "bind"
                   and m.source.startswith("/proc/") and m.source.endswith("/root" + SHM) else m for m in spec.mounts)
    return spec._replace(linux=spec.linux._replace(namespaces=namespaces), mounts=mounts)
