"""/sys/fs/cgroup inside a container: the view of its own groups (pure) and mounting it.

The parent computes the `CgroupView` from the group it made (`v1_view`, or `CgroupView(2)` on
cgroup2) and hands it to the container's init, whose `rootfs.mount_all` mounts it with
`mount_cgroups` where the spec has a mount of type "cgroup": cgroup2 as is; on v1 a tmpfs with one
mount per hierarchy the container joined and symlinks for co-mounted controllers; an empty tmpfs
(`CgroupView(0)`) for a container with no group of its own.
"""

from __future__ import annotations

import os

from minidock.nouns import NamedTuple
from minidock.runtime import syscalls as sc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from minidock.oci.runtimespec import Mount
    from minidock.runtime.explain import Tracer

NAMED_HIERARCHIES = frozenset({"systemd"})  # v1 hierarchies without a controller (mounted as name=X)


class Hierarchy(NamedTuple):
    """One v1 hierarchy as the host mounts it: its directory under /sys/fs/cgroup, the mount data
    (`cpu,cpuacct`, `name=systemd`) and the symlinks co-mounted controllers get (`cpu -> cpu,cpuacct`)."""

    dir: str
    data: str
    links: tuple[str, ...] = ()


class CgroupView(NamedTuple):
    """What the container's /sys/fs/cgroup shows: 2 = cgroup2, 1 = `hierarchies` on a tmpfs,
    0 = an empty tmpfs (the container has no group of its own: nothing of the host's is shown)."""

    version: int
    hierarchies: tuple[Hierarchy, ...] = ()


def v1_view(group: str, dirs: Mapping[str, str]) -> CgroupView:
    """The view of a container whose v1 group `group` ("minidock/<id>") is at `dirs` (hierarchy
    name -> the group's real directory, `<root>/<hierarchy dir>/<group>`). Only hierarchies the
    container joined are shown (any other would show a host group); co-mounted controllers share a
    real directory: one mount, named as on the host, and a symlink per controller (`cpu -> cpu,cpuacct`)."""
    by_dir: dict[str, list[str]] = {}
    for name, real in dirs.items():
        top = real[: -len(group) - 1] if real.endswith("/" + group) else os.path.dirname(real)
        by_dir.setdefault(os.path.basename(top), []).append(name)
    out = []
    for hdir, names in sorted(by_dir.items()):
        data = ",".join(f"name={n}" if n in NAMED_HIERARCHIES else n for n in sorted(names))
        links = tuple(n for n in sorted(names) if n != hdir and n not in NAMED_HIERARCHIES)
        out.append(Hierarchy(hdir, data, links))
    return CgroupView(1, tuple(out))


def mount_cgroups(m: Mount, target: str, flags: int, view: CgroupView, tracer: Tracer) -> None:
    """/sys/fs/cgroup as Docker shows it with a private cgroup namespace (whose root is the
    container's group): cgroup2 on v2; on v1 a tmpfs with each hierarchy and co-mount symlinks,
    then the tmpfs made read-only when `m` says "ro". `target`: an existing directory; `flags`:
    `m`'s options as mount(2) flags (rootfs.parse_options)."""
    opts = ",".join(m.options)
    if view.version == 2:
        with tracer.step("mount the container's cgroup2 hierarchy", f"mount -t cgroup2 -o {opts} cgroup2 {target}"):
            sc.mount("cgroup2", target, "cgroup2", flags, None)
        return
    base = (flags & ~sc.MS_RDONLY) | sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC
    with tracer.step("mount a tmpfs for the cgroup hierarchies", f"mount -t tmpfs -o mode=755 tmpfs {target}"):
        sc.mount("tmpfs", target, "tmpfs", base, "mode=755")
    if view.hierarchies:
        with tracer.step(f"mount {len(view.hierarchies)} cgroup v1 hierarchies", _cgroups_shell, opts, target, view):
            for h in view.hierarchies:
                d = os.path.join(target, h.dir)
                os.mkdir(d, 0o755)
                sc.mount("cgroup", d, "cgroup", flags, h.data)
                for link in h.links:
                    os.symlink(h.dir, os.path.join(target, link))
    if flags & sc.MS_RDONLY:
        with tracer.step("make the cgroup tmpfs read-only", f"mount -o remount,ro {target}"):
            sc.mount(None, target, None, base | sc.MS_REMOUNT | sc.MS_RDONLY, "mode=755")


def _cgroups_shell(opts: str, target: str, view: CgroupView) -> str:
    return "; ".join(f"mount -t cgroup -o {opts},{h.data} cgroup {target}/{h.dir}" for h in view.hierarchies)
