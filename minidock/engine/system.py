"""What `minidock version` and `minidock info` report: this client and this host, read without a daemon.

`version_report()` reads only the host (uname, the cgroup mount); `system_report()` adds the store's
container and image counts and the settings. The pure parts (`cgroup_version`, `backing_fs`,
`os_name`) take their inputs so they are tested without the host's files.
"""

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minidock import __version__
from minidock.engine.host import CGROUP_ROOT
from minidock.engine.version import (  # noqa: F401 - `version`'s own module (its quick path imports no typing)
    CgroupVersion,
    VersionReport,
    cgroup_version,
    version_report,
)
from minidock.nouns import NamedTuple

if TYPE_CHECKING:
    from minidock.store.store import Store

EXT_NAMES = frozenset({"ext2", "ext3", "ext4"})  # Docker calls them all "extfs"


def backing_fs(path: str, mountinfo: str) -> str:
    """The file system type of the mount holding `path` (longest mount point prefix), Docker-named."""
    best, fstype = "", "unknown"
    for line in mountinfo.splitlines():
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        point = fields[4].replace("\\040", " ")
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, fstype = point, line.split(" - ", 1)[1].split()[0]
    return "extfs" if fstype in EXT_NAMES else fstype


def os_name(os_release: str) -> str:
    """PRETTY_NAME of an os-release file ("Debian GNU/Linux 12 (bookworm)"), else "Linux"."""
    for line in os_release.splitlines():
        key, _, value = line.partition("=")
        if key == "PRETTY_NAME":
            return value.strip().strip('"') or "Linux"
    return "Linux"


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _memory_total(meminfo: str) -> int:
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


class Counts(NamedTuple):
    """Containers by state, and images (distinct image ids)."""

    containers: int = 0
    running: int = 0
    paused: int = 0
    stopped: int = 0
    images: int = 0


class SystemReport(NamedTuple):
    """`minidock info`: what `docker info` shows, for this store and host."""

    counts: Counts
    backing_fs: str
    cgroup: CgroupVersion
    kernel: str
    operating_system: str
    arch: str
    cpus: int
    mem_total: int
    root_dir: str
    mirrors: tuple[str, ...]
    insecure: tuple[str, ...]
    storage_driver: str = "overlay"
    cgroup_driver: str = "cgroupfs"

    @property
    def security_options(self) -> tuple[str, ...]:
        """Docker's SecurityOptions: the default seccomp profile; a private cgroup namespace on v2."""
        return ("name=seccomp,profile=default", *(("name=cgroupns",) if self.cgroup.version == 2 else ()))

    def to_json(self) -> dict[str, Any]:
        c = self.counts._asdict()
        return {"Containers": c["containers"], "ContainersRunning": c["running"], "ContainersPaused": c["paused"],
                "ContainersStopped": c["stopped"], "Images": c["images"], "Driver": self.storage_driver,
                "DriverStatus": [["Backing Filesystem", self.backing_fs]], "CgroupDriver": self.cgroup_driver,
                "CgroupVersion": str(self.cgroup.version), "CgroupHybrid": self.cgroup.hybrid,
                "KernelVersion": self.kernel, "OperatingSystem": self.operating_system, "OSType": "linux",
                "Architecture": self.arch, "NCPU": self.cpus, "MemTotal": self.mem_total,
                "DockerRootDir": self.root_dir, "ServerVersion": __version__,
                "SecurityOptions": list(self.security_options),
                "RegistryConfig": {"Mirrors": list(self.mirrors), "InsecureRegistries": list(self.insecure)}}


def counts(store: "Store") -> Counts:
    """Containers by status and distinct images in `store` (broken image records are not counted)."""
    from minidock.errors import MinidockError
    from minidock.store.containers import ContainerStore

    records = ContainerStore(store.paths).list()
    running = sum(r.status in ("running", "restarting") for r in records)
    paused = sum(r.status == "paused" for r in records)
    ids = set()
    for rec in store.images.list():
        with contextlib.suppress(MinidockError, OSError, ValueError):
            ids.add(store.images.image_id(rec))
    return Counts(len(records), running, paused, len(records) - running - paused, len(ids))


def system_report(store: "Store | None" = None, cgroup_root: str = CGROUP_ROOT) -> SystemReport:
    """`docker info` for this host and the store at $MINIDOCK_ROOT (or `store`)."""
    from minidock.config import Settings
    from minidock.engine.lookup import open_store

    store = store or open_store()
    settings = Settings.load()
    root = os.path.realpath(store.paths.root)
    u = os.uname()
    return SystemReport(counts(store), backing_fs(root, _read("/proc/self/mountinfo")), cgroup_version(cgroup_root),
                        u.release, os_name(_read("/etc/os-release")), u.machine, os.cpu_count() or 1,
                        _memory_total(_read("/proc/meminfo")), root, settings.registry_mirrors,
                        tuple(dict.fromkeys(("127.0.0.0/8", *settings.insecure_registries))))
