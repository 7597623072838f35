"""engine/nsmodes: Docker's checks of --pid/--ipc/--uts/--cgroupns/--userns, the inspect fields, and the
spec's namespaces and /dev/shm for each mode (records in a tmp store; no container runs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from minidock.engine import nsmodes
from minidock.engine.request import RunRequest
from minidock.errors import ConflictError, InvalidParameterError, NotFoundError, UsageError
from minidock.oci.runtimespec import Linux, Mount, Namespace, Process, Root, Spec, default_mounts, namespaces_for
from minidock.paths import Paths
from minidock.store.containers import ContainerStore
from minidock.store.ctrrecord import ContainerRecord

ME = os.getpid()  # a live pid: a record with it and no monitor reads as running


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    p = Paths(str(tmp_path / "root")).ensure()
    store = ContainerStore(p)
    for cid, name, status, ipc in (("a" * 64, "tgt", "running", "private"), ("b" * 64, "don", "running", "shareable"),
                                   ("c" * 64, "off", "created", "shareable")):
        store.create(ContainerRecord(id=cid, name=name, image="busybox", image_id="", created="", status=status,
                                     pid=ME if status == "running" else 0, host_config={"IpcMode": ipc}))
    return p


@pytest.mark.parametrize(("flags", "error", "words"), [
    ({"pid": "private"}, UsageError, "--pid: invalid PID mode"),
    ({"pid": "container:"}, UsageError, "--pid: invalid PID mode"),
    ({"pid": "container:a:b"}, UsageError, "--pid: invalid PID mode"),
    ({"uts": "private"}, UsageError, "--uts: invalid UTS mode"),
    ({"cgroupns": "x"}, UsageError, "--cgroupns: invalid CGROUP mode"),
    ({"userns": "private"}, UsageError, "--userns: invalid USER mode"),
    ({"ipc": "bogus"}, InvalidParameterError, "invalid IPC mode: bogus"),
    ({"ipc": "container:"}, InvalidParameterError, "can't join IPC of container : invalid name or ID supplied"),
    ({"uts": "host", "hostname": "x"}, InvalidParameterError, "conflicting options: hostname and the UTS mode"),
    ({"ipc": "host", "sysctls": ("fs.mqueue.msg_max=20",)}, UsageError,
     'sysctl "fs.mqueue.msg_max" is not allowed in the hosts ipc namespace'),
])
def test_refusals(flags: dict[str, object], error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words.replace("(", r"\(")):
        nsmodes.check(RunRequest("busybox", **flags))  # type: ignore[arg-type]


def test_accepted_values() -> None:
    for flags in ({}, {"pid": "host"}, {"pid": "container:x"}, {"ipc": "none"}, {"ipc": "shareable"},
                  {"ipc": "container:x"}, {"uts": "host"}, {"cgroupns": "host"}, {"cgroupns": "private"},
                  {"userns": "host"}, {"ipc": "host", "sysctls": ("net.ipv4.ip_forward=1",)}):
        nsmodes.check(RunRequest("busybox", **flags))  # type: ignore[arg-type]


def test_host_config_names_targets_by_id(paths: Paths) -> None:
    assert nsmodes.host_config(RunRequest("busybox"), paths) == {
        "PidMode": "", "IpcMode": "private", "UTSMode": "", "CgroupnsMode": "private", "UsernsMode": "",
        "GroupAdd": None}
    hc = nsmodes.host_config(RunRequest("busybox", pid="container:tgt", ipc="container:b", group_add=("10",)), paths)
    assert (hc["PidMode"], hc["IpcMode"], hc["GroupAdd"]) == ("container:" + "a" * 64, "container:" + "b" * 64, ["10"])
    with pytest.raises(NotFoundError, match="no such container: nope"):
        nsmodes.host_config(RunRequest("busybox", pid="container:nope"), paths)


def _spec() -> Spec:
    return Spec(process=Process(args=("true",)), root=Root("/r"), mounts=default_mounts(),
                linux=Linux(namespaces=namespaces_for("none")))


def _kinds(spec: Spec) -> dict[str, str]:
    return {n.type: n.path for n in spec.linux.namespaces}


def _shm(spec: Spec) -> list[Mount]:
    return [m for m in spec.mounts if m.destination == "/dev/shm"]


def test_apply_makes_shares_or_joins(paths: Paths) -> None:
    default = nsmodes.apply(_spec(), nsmodes.host_config(RunRequest("busybox"), paths), paths)
    assert _kinds(default) == dict.fromkeys(("pid", "ipc", "uts", "mount", "cgroup", "network"), "")
    assert _shm(default) == _shm(_spec())
    req = RunRequest("busybox", pid="host", ipc="host", uts="host", cgroupns="host")
    hosted = nsmodes.apply(_spec(), nsmodes.host_config(req, paths), paths)
    assert _kinds(hosted) == {"mount": "", "network": ""}
    assert _shm(hosted) == [Mount("/dev/shm", "bind", "/dev/shm", ("rbind", "rprivate"))]
    none = nsmodes.apply(_spec(), nsmodes.host_config(RunRequest("busybox", ipc="none"), paths), paths)
    assert "ipc" in _kinds(none) and _shm(none) == []
    req = RunRequest("busybox", pid="container:tgt", ipc="container:don")
    joined = nsmodes.apply(_spec(), nsmodes.host_config(req, paths), paths)
    assert (_kinds(joined)["pid"], _kinds(joined)["ipc"]) == (f"/proc/{ME}/ns/pid", f"/proc/{ME}/ns/ipc")
    assert _shm(joined) == [Mount("/dev/shm", "bind", f"/proc/{ME}/root/dev/shm", ("rbind", "rprivate"))]


def test_rejoin_finds_the_target_again_and_checks_it(paths: Paths) -> None:
    hc = nsmodes.host_config(RunRequest("busybox", pid="container:tgt", ipc="container:don"), paths)
    spec = nsmodes.apply(_spec(), hc, paths)
    moved = spec._replace(linux=spec.linux._replace(namespaces=tuple(
        n._replace(path="/proc/1/ns/" + n.type) if n.path else n for n in spec.linux.namespaces)),
        mounts=tuple(m._replace(source="/proc/1/root/dev/shm") if m.type == "bind" else m for m in spec.mounts))
    assert nsmodes.rejoin(moved, hc, paths) == spec
    plain = _spec()
    assert nsmodes.rejoin(plain, {}, paths) is plain
    off, tgt = "c" * 64, "a" * 64
    for mode, words in ((("PidMode", f"container:{off}"), f"container {off} is not running"),
                        (("IpcMode", f"container:{off}"), f"can't join IPC of container {off}: container {off} is"),
                        (("IpcMode", f"container:{tgt}"), "non-shareable IPC"),
                        (("PidMode", "container:" + "d" * 64), "no such container")):
        with pytest.raises((ConflictError, NotFoundError), match=words):
            nsmodes.rejoin(spec, dict([mode]), paths)


def test_namespaces_for_keeps_its_old_meaning() -> None:
    assert namespaces_for("host") == tuple(Namespace(k) for k in ("pid", "ipc", "uts", "mount", "cgroup"))
    assert namespaces_for("/proc/9/ns/net")[-1] == Namespace("network", "/proc/9/ns/net")
    assert [n.type for n in namespaces_for("bridge", pid="host", cgroup="host")] == ["ipc", "uts", "mount", "network"]
