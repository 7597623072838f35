"""A typed subset of the OCI runtime spec (config.json) that minidock's runtime executes.

`Spec.to_json()` is a valid OCI runtime config; minidock's one extension is `rootfs_mounts`
(serialised as the top-level key `minidock.rootfs`): the mounts, as data, that build the root
file system at `root.path` inside the container's own mount namespace (the overlay), so the host
never holds a container's rootfs mount.
"""

from __future__ import annotations

from types import MappingProxyType

from minidock.nouns import NamedTuple
from minidock.oci import blockio

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

OCI_VERSION = "1.0.2"

# Docker's default capability set (moby oci/caps/defaults.go).
DEFAULT_CAPS: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)

# Docker's masked and read-only paths (moby oci/defaults.go).
DEFAULT_MASKED_PATHS: tuple[str, ...] = (
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap",
)
DEFAULT_READONLY_PATHS: tuple[str, ...] = (
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
)

NAMESPACES: tuple[str, ...] = ("pid", "network", "ipc", "uts", "mount", "cgroup")


class DeviceRule(NamedTuple):
    """One device cgroup rule (OCI linux.resources.devices): `type` a|c|b, major/minor -1 = any."""

    allow: bool
    type: str = "a"
    major: int = -1
    minor: int = -1
    access: str = "rwm"

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DeviceRule:
        major, minor = d.get("major"), d.get("minor")
        return cls(allow=bool(d.get("allow", False)), type=str(d.get("type") or "a"),
                   major=-1 if major is None else int(major), minor=-1 if minor is None else int(minor),
                   access=str(d.get("access") or "rwm"))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"allow": self.allow, "type": self.type, "access": self.access}
        if self.major >= 0:
            out["major"] = self.major
        if self.minor >= 0:
            out["minor"] = self.minor
        return out

    def v1(self) -> str:
        """The rule as a v1 `devices.allow`/`devices.deny` line: `c 1:3 rwm`, `a *:* rwm`."""
        def num(n: int) -> str:
            return "*" if n < 0 else str(n)
        return f"{self.type} {num(self.major)}:{num(self.minor)} {self.access}"


def _allow(kind: str, major: int, minor: int, access: str = "rwm") -> DeviceRule:
    return DeviceRule(True, kind, major, minor, access)


# Docker 20.10's device cgroup: moby's default spec denies all ("a", rwm), runc's AllowedDevices
# then allow mknod of any node and use of null, random, full, tty, zero, urandom, console, the
# pts range, ptmx and tun, in runc's order.
DEFAULT_DEVICE_RULES: tuple[DeviceRule, ...] = (
    DeviceRule(False), _allow("c", -1, -1, "m"), _allow("b", -1, -1, "m"),
    _allow("c", 1, 3), _allow("c", 1, 8), _allow("c", 1, 7), _allow("c", 5, 0), _allow("c", 1, 5),
    _allow("c", 1, 9), _allow("c", 5, 1), _allow("c", 136, -1), _allow("c", 5, 2), _allow("c", 10, 200),
)
ALLOW_ALL_DEVICES: tuple[DeviceRule, ...] = (DeviceRule(True),)  # --privileged
# BuildKit's RUN steps (containerd's default spec): the same list without /dev/console (5:1)
BUILDKIT_DEVICE_RULES: tuple[DeviceRule, ...] = tuple(r for r in DEFAULT_DEVICE_RULES if (r.major, r.minor) != (5, 1))


class Device(NamedTuple):
    """A device node the runtime creates in the container (OCI linux.devices): --device, --privileged."""

    path: str
    type: str
    major: int
    minor: int
    file_mode: int = 0o666
    uid: int = 0
    gid: int = 0

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Device:
        return cls(path=str(d["path"]), type=str(d["type"]), major=int(d["major"]), minor=int(d["minor"]),
                   file_mode=int(d.get("fileMode", 0o666)), uid=int(d.get("uid", 0)), gid=int(d.get("gid", 0)))

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "type": self.type, "major": self.major, "minor": self.minor,
                "fileMode": self.file_mode, "uid": self.uid, "gid": self.gid}


class Mount(NamedTuple):
    """A mount as data: `mount -t type -o options source destination`."""

    destination: str
    type: str
    source: str
    options: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Mount:
        return cls(destination=str(d["destination"]), type=str(d.get("type", "")),
                   source=str(d.get("source", "")), options=tuple(d.get("options") or ()))

    def to_json(self) -> dict[str, Any]:
        return {"destination": self.destination, "type": self.type, "source": self.source,
                "options": list(self.options)}


class User(NamedTuple):
    """The numeric identity the process runs as.

    `name` (optional, minidock's extension, JSON `username`): a Docker `-u name|uid[:group|gid]`
    string the runtime resolves against the container's own /etc/passwd and /etc/group; when set,
    it replaces uid/gid and adds supplementary groups (additional_gids are kept too). `groups` (JSON
    `minidock.groupAdd`): `--group-add` names or gids, resolved against /etc/group too and added."""

    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()
    name: str = ""
    groups: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> User:
        return cls(uid=int(d.get("uid", 0)), gid=int(d.get("gid", 0)),
                   additional_gids=tuple(int(g) for g in d.get("additionalGids") or ()),
                   name=str(d.get("username", "")), groups=tuple(str(g) for g in d.get("minidock.groupAdd") or ()))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"uid": self.uid, "gid": self.gid}
        if self.additional_gids:
            out["additionalGids"] = list(self.additional_gids)
        if self.name:
            out["username"] = self.name
        if self.groups:
            out["minidock.groupAdd"] = list(self.groups)
        return out


class Capabilities(NamedTuple):
    """The five capability sets of the process."""

    bounding: tuple[str, ...] = DEFAULT_CAPS
    effective: tuple[str, ...] = DEFAULT_CAPS
    permitted: tuple[str, ...] = DEFAULT_CAPS
    inheritable: tuple[str, ...] = ()
    ambient: tuple[str, ...] = ()

    @classmethod
    def of(cls, caps: tuple[str, ...], uid: int = 0) -> Capabilities:
        """Docker's arrangement: root gets the set as bounding/effective/permitted; others bounding only."""
        if uid == 0:
            return cls(bounding=caps, effective=caps, permitted=caps)
        return cls(bounding=caps, effective=(), permitted=(), inheritable=(), ambient=())

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Capabilities:
        return cls(**{k: tuple(d.get(k) or ()) for k in
                      ("bounding", "effective", "permitted", "inheritable", "ambient")})

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) for k, v in zip(self._fields, self, strict=True)}


class Rlimit(NamedTuple):
    type: str
    soft: int
    hard: int

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "soft": self.soft, "hard": self.hard}


class Process(NamedTuple):
    """What runs in the container and how."""

    args: tuple[str, ...]
    env: tuple[str, ...] = ()
    cwd: str = "/"
    user: User = User()
    terminal: bool = False
    capabilities: Capabilities = Capabilities()
    no_new_privileges: bool = False
    rlimits: tuple[Rlimit, ...] = ()
    oom_score_adj: int | None = None  # written to /proc/self/oom_score_adj before exec (None: inherited)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Process:
        return cls(
            args=tuple(d.get("args") or ()), env=tuple(d.get("env") or ()), cwd=str(d.get("cwd", "/")),
            user=User.from_json(d.get("user") or {}), terminal=bool(d.get("terminal", False)),
            capabilities=Capabilities.from_json(d.get("capabilities") or {}),
            no_new_privileges=bool(d.get("noNewPrivileges", False)),
            rlimits=tuple(Rlimit(str(r["type"]), int(r["soft"]), int(r["hard"]))
                          for r in d.get("rlimits") or ()),
            oom_score_adj=d.get("oomScoreAdj"),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"terminal": self.terminal, "user": self.user.to_json(),
                               "args": list(self.args), "env": list(self.env), "cwd": self.cwd,
                               "capabilities": self.capabilities.to_json(),
                               "noNewPrivileges": self.no_new_privileges}
        out.update({"rlimits": [r.to_json() for r in self.rlimits]} if self.rlimits else {})
        if self.oom_score_adj is not None:
            out["oomScoreAdj"] = self.oom_score_adj
        return out


class Resources(NamedTuple):
    """cgroup limits, in OCI units (bytes, microseconds, shares). None = unlimited / unset."""

    memory_limit: int | None = None
    memory_swap: int | None = None  # memory + swap, as docker's --memory-swap; -1 = unlimited
    cpu_shares: int | None = None
    cpu_quota: int | None = None
    cpu_period: int | None = None
    pids_limit: int | None = None
    devices: tuple[DeviceRule, ...] = DEFAULT_DEVICE_RULES  # in order; () = leave the group's rules alone
    cpuset_cpus: str | None = None  # "0-1,3"
    cpuset_mems: str | None = None
    cpu_rt_runtime: int | None = None
    cpu_rt_period: int | None = None
    memory_reservation: int | None = None  # the soft limit
    memory_swappiness: int | None = None
    oom_kill_disable: bool | None = None
    blkio_weight: int | None = None  # 10..1000
    block_devices: tuple[blockio.BlockDevice, ...] = ()  # per-device weights and throttles

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Resources:
        mem, cpu, pids = d.get("memory") or {}, d.get("cpu") or {}, d.get("pids") or {}
        devices = d.get("devices")  # why: a record from before device rules gets Docker's defaults
        return cls(memory_limit=mem.get("limit"), memory_swap=mem.get("swap"),
                   cpu_shares=cpu.get("shares"), cpu_quota=cpu.get("quota"),
                   cpu_period=cpu.get("period"), pids_limit=pids.get("limit"),
                   devices=DEFAULT_DEVICE_RULES if devices is None else
                   tuple(DeviceRule.from_json(r) for r in devices),
                   cpuset_cpus=cpu.get("cpus"), cpuset_mems=cpu.get("mems"),
                   cpu_rt_runtime=cpu.get("realtimeRuntime"), cpu_rt_period=cpu.get("realtimePeriod"),
                   memory_reservation=mem.get("reservation"), memory_swappiness=mem.get("swappiness"),
                   oom_kill_disable=mem.get("disableOOMKiller"), blkio_weight=(d.get("blockIO") or {}).get("weight"),
                   block_devices=blockio.from_json(d.get("blockIO") or {}))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        mem = {k: v for k, v in (("limit", self.memory_limit), ("reservation", self.memory_reservation),
                                 ("swap", self.memory_swap), ("swappiness", self.memory_swappiness),
                                 ("disableOOMKiller", self.oom_kill_disable)) if v is not None}
        cpu = {k: v for k, v in (("shares", self.cpu_shares), ("quota", self.cpu_quota), ("period", self.cpu_period),
                                 ("realtimeRuntime", self.cpu_rt_runtime), ("realtimePeriod", self.cpu_rt_period),
                                 ("cpus", self.cpuset_cpus), ("mems", self.cpuset_mems)) if v is not None}
        if mem:
            out["memory"] = mem
        if cpu:
            out["cpu"] = cpu
        if self.pids_limit is not None:
            out["pids"] = {"limit": self.pids_limit}
        if bio := {**({"weight": self.blkio_weight} if self.blkio_weight is not None else {}),
                   **blockio.to_json(self.block_devices)}:
            out["blockIO"] = bio
        out["devices"] = [r.to_json() for r in self.devices]
        return out


class Namespace(NamedTuple):
    """A namespace to create (`path` empty) or to join (`path` = /proc/PID/ns/TYPE)."""

    type: str
    path: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "path": self.path} if self.path else {"type": self.type}


_DEFAULT_NAMESPACES = tuple(Namespace(n) for n in NAMESPACES)


class Linux(NamedTuple):
    namespaces: tuple[Namespace, ...] = _DEFAULT_NAMESPACES
    resources: Resources = Resources()
    cgroups_path: str = ""
    masked_paths: tuple[str, ...] = DEFAULT_MASKED_PATHS
    readonly_paths: tuple[str, ...] = DEFAULT_READONLY_PATHS
    devices: tuple[Device, ...] = ()  # nodes beyond the standard /dev set
    seccomp: str = "default"  # the seccomp profile: "default" (Docker's), "unconfined" or a profile's path
    sysctl: Mapping[str, str] = MappingProxyType({})  # namespaced kernel parameters set in the container

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Linux:
        return cls(
            devices=tuple(Device.from_json(x) for x in d.get("devices") or ()),
            namespaces=tuple(Namespace(str(n["type"]), str(n.get("path", ""))) for n in d.get("namespaces") or ()),
            resources=Resources.from_json(d.get("resources") or {}),
            cgroups_path=str(d.get("cgroupsPath", "")),
            masked_paths=tuple(d.get("maskedPaths") or ()),
            readonly_paths=tuple(d.get("readonlyPaths") or ()),
            seccomp=str(d.get("minidock.seccomp") or "default"),
            sysctl=MappingProxyType({str(k): str(v) for k, v in (d.get("sysctl") or {}).items()}),
        )

    def to_json(self) -> dict[str, Any]:
        """OCI's `linux` object; the seccomp profile is named under minidock's key (OCI's `seccomp` holds
        the resolved rules, which minidock compiles from the named profile at start instead)."""
        return {"namespaces": [n.to_json() for n in self.namespaces],
                "resources": self.resources.to_json(), "cgroupsPath": self.cgroups_path,
                "maskedPaths": list(self.masked_paths), "readonlyPaths": list(self.readonly_paths),
                "devices": [x.to_json() for x in self.devices], "minidock.seccomp": self.seccomp,
                "sysctl": dict(self.sysctl)}


def default_mounts(cgroup_rw: bool = False) -> tuple[Mount, ...]:
    """The kernel file systems every container gets (runc's default spec, Docker's /dev/shm 64m).

    The "cgroup" mount is Docker's read-only /sys/fs/cgroup with a private cgroup namespace: the
    runtime makes it cgroup2 on a v2 host, a tmpfs holding each v1 hierarchy on a v1/hybrid host.
    `cgroup_rw` makes it read-write (Docker does so for --privileged containers)."""
    return (
        Mount("/proc", "proc", "proc", ("nosuid", "noexec", "nodev")),
        Mount("/dev", "tmpfs", "tmpfs", ("nosuid", "strictatime", "mode=755", "size=65536k")),
        Mount("/dev/pts", "devpts", "devpts",
              ("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5")),
        Mount("/sys", "sysfs", "sysfs", ("nosuid", "noexec", "nodev", "ro")),
        Mount("/dev/mqueue", "mqueue", "mqueue", ("nosuid", "noexec", "nodev")),
        Mount("/dev/shm", "tmpfs", "shm", ("nosuid", "noexec", "nodev", "mode=1777", "size=65536k")),
        Mount("/sys/fs/cgroup", "cgroup", "cgroup",
              ("nosuid", "noexec", "nodev", "relatime", "rw" if cgroup_rw else "ro")),
    )


def namespaces_for(network: str, pid: str = "", ipc: str = "", uts: str = "",
                   cgroup: str = "") -> tuple[Namespace, ...]:
    """mount always; each other kind new (bridge, private, ...), the host's ("host") or joined (/proc/PID/ns/X)."""
    modes = (("pid", pid), ("ipc", ipc), ("uts", uts), ("mount", ""), ("cgroup", cgroup), ("network", network))
    return tuple(Namespace(kind, mode if mode.startswith("/proc/") else "") for kind, mode in modes if mode != "host")


class Root(NamedTuple):
    path: str
    readonly: bool = False


class Spec(NamedTuple):
    """A container's runtime configuration."""

    process: Process
    root: Root
    hostname: str = ""
    mounts: tuple[Mount, ...] = ()
    linux: Linux = Linux()
    rootfs_mounts: tuple[Mount, ...] = ()
    annotations: Mapping[str, str] = MappingProxyType({})
    domainname: str = ""  # --domainname: set in the container's UTS namespace

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Spec:
        root = d.get("root") or {}
        return cls(
            process=Process.from_json(d.get("process") or {}), hostname=str(d.get("hostname", "")),
            root=Root(path=str(root.get("path", "rootfs")), readonly=bool(root.get("readonly", False))),
            mounts=tuple(Mount.from_json(m) for m in d.get("mounts") or ()),
            linux=Linux.from_json(d.get("linux") or {}),
            rootfs_mounts=tuple(Mount.from_json(m) for m in d.get("minidock.rootfs") or ()),
            annotations={str(k): str(v) for k, v in (d.get("annotations") or {}).items()},
            domainname=str(d.get("domainname", "")))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ociVersion": OCI_VERSION, "process": self.process.to_json(), "root": self.root._asdict(),
            "hostname": self.hostname, "mounts": [m.to_json() for m in self.mounts],
            "linux": self.linux.to_json(), **({"domainname": self.domainname} if self.domainname else {})}
        if self.rootfs_mounts:
            out["minidock.rootfs"] = [m.to_json() for m in self.rootfs_mounts]
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    def has_namespace(self, kind: str) -> bool:
        return any(n.type == kind and not n.path for n in self.linux.namespaces)
