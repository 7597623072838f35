"""Pure parts of the runtime: mount options, secure joins, capability masks, sync messages, errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from minidock.errors import CannotInvokeError, CommandNotFoundError, RuntimeSetupError, UsageError
from minidock.oci.runtimespec import DEFAULT_CAPS, Mount, Namespace, Process, Root, Spec
from minidock.runtime import caps, namespaces, rootfs, sync
from minidock.runtime import syscalls as sc
from minidock.runtime.init import ChildError, lookup
from minidock.runtime.process import ExitStatus, error_from


def test_parse_options_splits_flags_propagation_and_data() -> None:
    a = rootfs.parse_options(("nosuid", "noexec", "nodev", "mode=755", "size=65536k", "rprivate"))
    assert a.flags == sc.MS_NOSUID | sc.MS_NOEXEC | sc.MS_NODEV
    assert a.propagation == (sc.MS_PRIVATE | sc.MS_REC,)
    assert a.data == "mode=755,size=65536k"
    b = rootfs.parse_options(("rbind", "ro"))
    assert b.is_bind and b.flags == sc.MS_BIND | sc.MS_REC | sc.MS_RDONLY
    assert rootfs.parse_options(("ro", "rw")).flags == 0


def test_secure_join_never_escapes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    os.symlink("/etc", root / "abs")
    os.symlink("../../../../etc", root / "rel")
    os.symlink("loop", root / "loop")
    assert rootfs.secure_join(str(root), "/abs/passwd") == str(root / "etc/passwd")
    assert rootfs.secure_join(str(root), "rel/x") == str(root / "etc/x")
    assert rootfs.secure_join(str(root), "/../../a/./b") == str(root / "a/b")
    with pytest.raises(OSError, match="too many levels"):
        rootfs.secure_join(str(root), "/loop")


def test_shell_of_mounts() -> None:
    m = Mount("/data", "bind", "/srv", ("rbind", "ro"))
    assert rootfs.shell_of(m, "/r/data") == "mount --rbind -o rbind,ro /srv /r/data"
    assert rootfs.shell_of(Mount("/proc", "proc", "proc"), "/r/proc") == "mount -t proc proc /r/proc"


def test_docker_default_caps_mask() -> None:
    assert caps.mask(DEFAULT_CAPS) == 0xA80425FB
    assert caps.names_of(caps.mask(["chown", "CAP_KILL"])) == ["CAP_CHOWN", "CAP_KILL"]
    with pytest.raises(UsageError, match="CAP_NOPE"):
        caps.mask(["CAP_NOPE"])


def test_namespace_flags_and_split() -> None:
    spec = Spec(Process(args=("true",)), Root("/r"))
    new, joined = namespaces.split(spec)
    assert set(new) == {"pid", "network", "ipc", "uts", "mount", "cgroup"} and joined == []
    assert namespaces.flags_of(["pid", "mount"]) == sc.CLONE_NEWPID | sc.CLONE_NEWNS
    assert namespaces.unshare_shell(["pid", "uts"]) == "unshare --pid --uts --fork"
    assert namespaces.of_process(42, ["mount", "network"]) == [
        Namespace("network", "/proc/42/ns/net"), Namespace("mount", "/proc/42/ns/mnt")]


def test_channel_round_trip_and_eof() -> None:
    r, w = sync.pipe()
    w.send("step", title="t", shell="s", ms=1.5, where="init")
    w.send("error", msg="x" * 10000, stage="rootfs")
    w.close()
    assert sync.step_of(r.recv() or {}).title == "t"
    err = r.recv() or {}
    assert err["stage"] == "rootfs" and len(err["msg"]) == 1000
    assert r.recv() is None
    r.close()


def test_error_messages_map_to_exit_codes() -> None:
    e = error_from({"t": "error", "kind": "notfound", "msg": 'exec: "nope": executable file not found in $PATH'})
    assert isinstance(e, CommandNotFoundError) and e.exit_code == 127
    assert isinstance(error_from({"kind": "noinvoke", "msg": "m"}), CannotInvokeError)
    e = error_from({"kind": "OSError", "msg": "mount x on y: no such file", "stage": "rootfs"})
    assert isinstance(e, RuntimeSetupError) and e.stage == "rootfs" and str(e).startswith("rootfs: ")
    fields = sync.error_fields(OSError(2, "No such file or directory", "/x"), "cwd")
    assert fields["errname"] == "ENOENT" and "/x" in fields["msg"]


def test_exit_status_from_wait() -> None:
    assert ExitStatus.from_wait(42 << 8) == ExitStatus(42)
    assert ExitStatus.from_wait(9) == ExitStatus(137, 9)


def test_lookup_searches_path(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a/tool").write_text("")  # not executable: skipped like Go's LookPath
    (tmp_path / "b/tool").write_text("")
    (tmp_path / "b/tool").chmod(0o755)
    assert lookup("tool", f"{tmp_path}/a:{tmp_path}/b") == f"{tmp_path}/b/tool"
    with pytest.raises(ChildError, match=r'exec: "nope": executable file not found in \$PATH'):
        lookup("nope", str(tmp_path / "a"))
    with pytest.raises(ChildError, match=r'stat /no/such: no such file or directory'):
        lookup("/no/such", "")
