"""--device and --privileged -> the container's device nodes and device cgroup rules (Docker's rules).

Docker 20.10 (moby daemon/oci_linux.go WithDevices, oci/devices_linux.go DevicesFromPath, runc's
HostDevices): a container gets the default rules (deny all, then runc's allow list); each
`--device HOST[:CONTAINER[:PERMS]]` adds its node (the host's mode and owner, a directory walked
for the nodes below it) and an allow rule with PERMS (default rwm); `--privileged` gets every node
of the host's /dev and one rule that allows all devices.
"""

from __future__ import annotations

import os
import stat

from minidock.errors import InvalidParameterError, UsageError
from minidock.oci.runtimespec import ALLOW_ALL_DEVICES, DEFAULT_DEVICE_RULES, Device, DeviceRule

# runc's GetDevices skips these directories of /dev, and /dev/console
_SKIP_DIRS = frozenset(("pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"))


def _valid_mode(text: str) -> bool:
    """Docker's validDeviceMode: non-empty, only r, w, m, each at most once."""
    return bool(text) and len(set(text)) == len(text) and set(text) <= set("rwm")


def parse_device(text: str) -> tuple[str, str, str]:
    """`HOST[:CONTAINER][:PERMS]` -> (host, container, perms), as Docker's parseDevice."""
    parts = text.split(":")
    if not 1 <= len(parts) <= 3 or not parts[0]:
        raise UsageError(f"invalid device specification: {text}")
    src, dst, perms = parts[0], "", "rwm"
    if len(parts) == 3:
        dst, perms = parts[1], parts[2]
    elif len(parts) == 2:
        if _valid_mode(parts[1]):
            perms = parts[1]
        else:
            dst = parts[1]
    if not _valid_mode(perms):
        raise UsageError(f"invalid device mode: {perms}")
    dst = dst or src
    for p in (src, dst):
        if not p.startswith("/"):
            raise UsageError(f"bad format for path: {p}")
    return src, os.path.normpath(dst), perms


def device_at(path: str, ctr_path: str) -> Device | None:
    """The node at host `path` (symlinks followed) as a Device at `ctr_path`; None when not a device."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        return None
    return Device(ctr_path, kind, os.major(st.st_rdev), os.minor(st.st_rdev), stat.S_IMODE(st.st_mode),
                  st.st_uid, st.st_gid)


def devices_from_path(host: str, ctr: str) -> list[Device]:
    """Docker's DevicesFromPath: the node itself, or every node below a directory (walked)."""
    real = os.path.realpath(host) if os.path.islink(host) else host
    one = device_at(real, ctr)
    if one is not None:
        return [one]
    found: list[Device] = []
    if os.path.isdir(real):
        for top, dirs, files in os.walk(real):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(top, name)
                d = device_at(full, ctr + full[len(real):])
                if d is not None:
                    found.append(d)
    if not found:
        why = "not a device node" if os.path.exists(real) else "no such file or directory"
        raise UsageError(f"error gathering device information while adding custom device {host!r}: {why}")
    return found


def host_devices(dev: str = "/dev") -> list[Device]:
    """Every device node of the host's /dev (runc's HostDevices: no pts, shm, fd, mqueue, console)."""
    out: list[Device] = []
    for top, dirs, files in os.walk(dev):
        dirs[:] = sorted(d for d in dirs if not (top == dev and d in _SKIP_DIRS))
        for name in sorted(files):
            if top == dev and name == "console":
                continue
            full = os.path.join(top, name)
            if os.path.islink(full):
                continue
            d = device_at(full, full)
            if d is not None:
                out.append(d)
    return out


def check_cgroup_rule(text: str) -> str:
    """Docker's client check of `--device-cgroup-rule` (`^([acb]) ([0-9]+|\\*):([0-9]+|\\*) ([rwm]{1,3})$`,
    by hand: no `re` on the run path); ValueError in its words."""
    parts = text.split(" ")
    nums = parts[1].split(":") if len(parts) == 3 else []
    if not (len(nums) == 2 and parts[0] in ("a", "b", "c") and all(n == "*" or _digits(n) for n in nums)
            and 1 <= len(parts[2]) <= 3 and set(parts[2]) <= set("rwm")):
        raise ValueError(f"invalid device cgroup format '{text}'")
    return text


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def cgroup_rule(text: str) -> DeviceRule:
    """One checked `--device-cgroup-rule` as the allow rule Docker's daemon makes of it (WithDevices)."""
    kind, nums, access = check_cgroup_rule(text).split(" ")
    major, minor = (-1 if n == "*" else int(n) for n in nums.split(":"))
    for which, n in (("major", major), ("minor", minor)):
        if n >= 1 << 63:  # why: Docker's strconv.ParseInt(.., 64)
            raise InvalidParameterError(f"invalid {which} value in device cgroup rule format: '{text}'")
    return DeviceRule(True, kind, major, minor, access)


def device_config(specs: tuple[str, ...], privileged: bool, cgroup_rules: tuple[str, ...] = ()
                  ) -> tuple[tuple[Device, ...], tuple[DeviceRule, ...]]:
    """The nodes to create and the device cgroup rules of a container (`--device-cgroup-rule`s after
    the `--device`s' rules; none of them when privileged, as Docker's)."""
    nodes: list[Device] = host_devices() if privileged else []
    rules = list(ALLOW_ALL_DEVICES if privileged else DEFAULT_DEVICE_RULES)
    for text in specs:
        host, ctr, perms = parse_device(text)
        for d in devices_from_path(host, ctr):
            nodes.append(d)
            if not privileged:  # why: Docker ignores a --device's permissions when privileged
                rules.append(DeviceRule(True, d.type, d.major, d.minor, perms))
    if not privileged:
        rules += [cgroup_rule(r) for r in cgroup_rules]
    return tuple(nodes), tuple(rules)
