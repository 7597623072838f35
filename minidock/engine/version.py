"""`minidock version`: this client and the host it runs on, read with os and sys only.

Why not NamedTuples here (the house style for nouns): `version` is one of the commands typed most
and must start as fast as the docker CLI; `typing` and `pathlib` cost ~5 ms before any work. The two
nouns are `__slots__` classes compared by value; engine/system.py (`info`) re-exports them.
"""

from __future__ import annotations

import os
import sys

from minidock import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "ppc64le": "ppc64le",
          "s390x": "s390x", "riscv64": "riscv64"}
API_VERSION = "1.41"  # the Docker API version whose shapes minidock's JSON follows (Docker 20.10)


def cgroup_root() -> str:
    """engine/host.py's CGROUP_ROOT, without pathlib: $MINIDOCK_CGROUP_ROOT, else /sys/fs/cgroup."""
    return os.environ.get("MINIDOCK_CGROUP_ROOT", "/sys/fs/cgroup")


class CgroupVersion:
    """The host's cgroup layout: 2 (unified), or 1 with `hybrid` when cgroup2 is mounted at `unified`."""

    __slots__ = ("hybrid", "version")

    def __init__(self, version: int, hybrid: bool = False) -> None:
        self.version, self.hybrid = version, hybrid

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CgroupVersion) and (self.version, self.hybrid) == (other.version, other.hybrid)

    def __hash__(self) -> int:
        return hash((self.version, self.hybrid))

    def __repr__(self) -> str:
        return f"CgroupVersion(version={self.version!r}, hybrid={self.hybrid!r})"

    def text(self) -> str:
        return f"{self.version} (hybrid: cgroup2 at unified)" if self.hybrid else str(self.version)


def cgroup_version(root: str | os.PathLike[str] | None = None) -> CgroupVersion:
    """2 when `root` is cgroup2, else 1 (hybrid when `root`/unified is a cgroup2 mount)."""
    where = os.fspath(root) if root is not None else cgroup_root()
    if os.path.isfile(os.path.join(where, "cgroup.controllers")):
        return CgroupVersion(2)
    return CgroupVersion(1, os.path.isfile(os.path.join(where, "unified", "cgroup.procs")))


class VersionReport:
    """`minidock version`: the client and what it runs on."""

    __slots__ = ("arch", "cgroup", "kernel", "os", "python", "version")

    def __init__(self, version: str, python: str, *, os_: str, arch: str, kernel: str, cgroup: CgroupVersion) -> None:
        self.version, self.python, self.os, self.arch, self.kernel, self.cgroup = (
            version, python, os_, arch, kernel, cgroup)

    def to_json(self) -> dict[str, Any]:
        """Docker's `version` shape; minidock has no daemon, so Server describes minidock itself."""
        client = {"Platform": {"Name": "minidock"}, "Version": self.version, "ApiVersion": API_VERSION,
                  "PythonVersion": self.python, "Os": self.os, "Arch": self.arch, "KernelVersion": self.kernel,
                  "CgroupVersion": str(self.cgroup.version), "CgroupHybrid": self.cgroup.hybrid,
                  "Experimental": False}
        server = {"Platform": {"Name": "minidock (no daemon)"}, "Version": self.version, "ApiVersion": API_VERSION,
                  "MinAPIVersion": "1.12", "Os": self.os, "Arch": self.arch, "KernelVersion": self.kernel,
                  "Experimental": False}
        return {"Client": client, "Server": server}


def version_report(root: str | os.PathLike[str] | None = None) -> VersionReport:
    """This client's version, Python, kernel and detected cgroup version (no store, no daemon);
    `root` is the cgroup mount (default: cgroup_root())."""
    u = os.uname()
    python = ".".join(map(str, sys.version_info[:3]))
    return VersionReport(__version__, python, os_=sys.platform, arch=GOARCH.get(u.machine, u.machine),
                         kernel=u.release, cgroup=cgroup_version(root))
