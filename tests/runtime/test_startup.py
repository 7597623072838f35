"""What the start-up work left the same: ctypes stand-ins for resource/select, lazy tracer text, fewer
syscalls for mount targets and cgroup directories, and run-path modules that import nothing heavy."""

from __future__ import annotations

import ast
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from minidock.errors import RuntimeSetupError
from minidock.runtime import cgroups, rootfs
from minidock.runtime import syscalls as sc
from minidock.runtime.cgroups_v1 import V1Driver
from minidock.runtime.explain import NullTracer, Tracer
from minidock.runtime.net.netlink import Link
from minidock.runtime.users import read_exec_user

RUNTIME = Path(__file__).parents[2] / "minidock" / "runtime"


# ---- syscalls standing in for resource and select -----------------------------------------------

def test_rlimit_names_and_reads_match_the_resource_module() -> None:
    names = {n: getattr(resource, n) for n in dir(resource) if n.startswith("RLIMIT_")}
    assert names == {k: v for k, v in sc.RLIMITS.items() if k != "RLIMIT_LOCKS"}  # resource lacks LOCKS (10)
    assert sc.RLIM_INFINITY == resource.RLIM_INFINITY
    for which in set(names.values()):
        assert sc.getrlimit(which) == resource.getrlimit(which)


def test_setrlimit_sets_and_fails_like_the_resource_module() -> None:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # a child: the test process keeps its limits
        code = 1
        try:
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            sc.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
            ok = resource.getrlimit(resource.RLIMIT_NOFILE) == (64, hard)
            try:
                sc.setrlimit(resource.RLIMIT_NOFILE, (hard + 1, hard) if hard != -1 else (2, 1))
            except ValueError as e:
                ok = ok and str(e) == "current limit exceeds maximum limit"
            code = 0 if ok else 2
        finally:
            os.write(w, bytes([code]))
            os._exit(0)
    os.close(w)
    assert os.read(r, 1) == b"\0"
    os.close(r)
    os.waitpid(pid, 0)


# ---- the tracer builds command text only when it records --------------------------------------

def test_a_null_tracer_never_builds_the_command_text() -> None:
    def boom(*_: object) -> str:
        raise AssertionError("built for nobody")

    with NullTracer().step("title", boom, 1, 2):
        pass


def test_a_tracer_builds_the_text_from_its_function_and_notes_a_failed_step() -> None:
    tr = Tracer()
    with tr.step("a", lambda x, y: f"cmd {x} {y}", 1, "two"):
        pass
    with pytest.raises(KeyError), tr.step("b", "plain text"):
        raise KeyError("x")
    assert [(s.title, s.shell) for s in tr.steps] == [("a", "cmd 1 two"), ("b", "plain text")]
    assert all(s.ms >= 0 and s.where == "parent" for s in tr.steps)


# ---- mount targets and masked paths: the same results with fewer syscalls -------------------

def test_make_target_creates_directories_and_files_and_keeps_what_is_there(tmp_path: Path) -> None:
    src_file = tmp_path / "src"
    src_file.write_text("x")
    rootfs._make_target(str(tmp_path), str(tmp_path / "a" / "b"), False)  # parents too
    assert (tmp_path / "a" / "b").is_dir()
    rootfs._make_target(str(tmp_path), str(tmp_path / "a" / "b"), True)  # a directory bind: already there
    rootfs._make_target(str(src_file), str(tmp_path / "c" / "file"), True)  # a file bind: an empty file
    assert (tmp_path / "c" / "file").read_text() == ""
    (tmp_path / "c" / "file").write_text("kept")
    rootfs._make_target(str(src_file), str(tmp_path / "c" / "file"), True)
    assert (tmp_path / "c" / "file").read_text() == "kept"
    os.symlink("nowhere", tmp_path / "c" / "dangling")
    rootfs._make_target(str(src_file), str(tmp_path / "c" / "dangling"), True)  # left alone, not followed
    assert not (tmp_path / "c" / "nowhere").exists()
    with pytest.raises(FileExistsError):
        rootfs._make_target(str(tmp_path), str(tmp_path / "c" / "file"), False)  # a file where a dir must go
    with pytest.raises(FileExistsError):
        rootfs._make_target(str(src_file), str(tmp_path / "c" / "file" / "x"), True)  # a file as parent


def test_masked_path_kinds(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("")
    os.symlink("missing", tmp_path / "dangling")
    os.symlink("d", tmp_path / "linkdir")
    paths = [str(tmp_path / n) for n in ("d", "f", "dangling", "linkdir", "absent")]
    assert rootfs._kinds(paths) == [(paths[0], True), (paths[1], False), (paths[2], False), (paths[3], True)]


# ---- cgroup directories and files ---------------------------------------------------------------

def test_make_dir_is_one_step_only_when_it_creates(tmp_path: Path) -> None:
    tr = Tracer()
    assert cgroups.make_dir(tmp_path / "a" / "b", tr, "create") is True
    assert cgroups.make_dir(tmp_path / "a" / "b", tr, "create") is False
    assert [(s.title, s.shell) for s in tr.steps] == [("create", f"mkdir -p {tmp_path / 'a' / 'b'}")]
    (tmp_path / "file").write_text("")
    with pytest.raises(RuntimeSetupError, match="cgroup: mkdir"):
        cgroups.make_dir(tmp_path / "file", None, "create")


def test_write_file_appends_to_procs_files_and_replaces_others(tmp_path: Path) -> None:
    for _ in range(2):
        cgroups.write_file(tmp_path / "cgroup.procs", "7")
        cgroups.write_file(tmp_path / "pids.max", "9")
    assert cgroups.read_text(tmp_path / "cgroup.procs") == "7\n7\n"
    assert cgroups.read_text(tmp_path / "pids.max") == "9\n"
    assert cgroups.read_text(tmp_path / "absent") == ""


def test_v1_real_paths_follow_a_co_mount_symlink(tmp_path: Path) -> None:
    (tmp_path / "cpu,cpuacct").mkdir()
    os.symlink("cpu,cpuacct", tmp_path / "cpu")
    os.symlink("cpu,cpuacct", tmp_path / "cpuacct")
    (tmp_path / "memory").mkdir()
    driver = V1Driver(tmp_path)
    assert driver.controllers == ["cpu", "cpuacct", "memory"]
    real = driver._real("minidock/x")
    assert real["cpu"] == real["cpuacct"] == os.path.realpath(tmp_path / "cpu,cpuacct") + "/minidock/x"
    assert real["memory"] == os.path.realpath(tmp_path / "memory") + "/minidock/x"


def test_a_cgroup_name_is_checked_without_a_regular_expression() -> None:
    assert cgroups.group_name("a.b:c_d-1") == "minidock/a.b:c_d-1"
    for bad in ("a b", "a\n", "ü", "a*b"):
        with pytest.raises(Exception, match="invalid cgroup name"):
            cgroups.group_name(bad)


# ---- nouns and readers ----------------------------------------------------------------------------

def test_link_compares_and_hashes_by_value() -> None:
    a, b = Link(3, "eth0", 1500, 0, True, "veth"), Link(3, "eth0", 1500, 0, True, "veth")
    assert a == b and hash(a) == hash(b) and a != Link(3, "eth0", 1500, 0, False, "veth")
    assert "name='eth0'" in repr(a)


def test_passwd_with_crlf_lines_reads_like_text_mode(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_bytes(b"root:x:0:0:root:/root:/bin/sh\r\napp:x:5:6::/home/app:/bin/sh\r\n")
    (tmp_path / "etc/group").write_bytes(b"root:x:0:\r\nstaff:x:50:app\r\n")
    from minidock.oci.runtimespec import User

    u = read_exec_user(str(tmp_path), User(name="app"))
    assert (u.uid, u.gid, u.sgids, u.home) == (5, 6, (6, 50), "/home/app")


# ---- the run path imports nothing heavy -------------------------------------------------------------

def test_no_runtime_module_imports_dataclasses() -> None:
    for path in sorted(RUNTIME.glob("*.py")):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "dataclasses" not in names, path.name


def test_the_run_path_modules_import_nothing_only_some_runs_need() -> None:
    code = ("import sys; import minidock.runtime.process, minidock.runtime.init, minidock.runtime.cgroups, "
            "minidock.runtime.cgroups_v1, minidock.runtime.net.network, minidock.runtime.net.netfiles; "
            "print(' '.join(m for m in ('dataclasses', 'socket', 'threading', 'select', 'resource', 'shutil', "
            "'subprocess', 'termios', 'selectors') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() in ([], ["dataclasses"])  # dataclasses: only while oci/ is being converted


HEAVY = ("typing", "pathlib", "ipaddress", "re", "enum", "json", "contextlib", "collections", "functools", "signal",
         "socket", "subprocess", "fnmatch", "urllib.parse")


def test_the_bridge_path_wires_with_ints_and_text(tmp_path: Path) -> None:
    """What a steady-state bridge `run` imports and calls (the bridge exists, its NAT is set up): no
    ipaddress, json, pathlib, re, typing (and what they bring). The rare paths load them lazily."""
    code = f"""if True:
        import sys
        import minidock.engine.networks, minidock.engine.netwire
        from minidock.runtime.net import hostbridge, ipam, nat, netconfig, network
        d = {str(tmp_path)!r}
        assert ipam.allocate(d, "n", "10.213.9.0/24", "c1", owner="/x") == "10.213.9.2/24"
        assert ipam.gateway_for("10.213.9.0/24") == ("10.213.9.1", 24) and ipam.leases(d, "n") == {{"c1": "10.213.9.2"}}
        assert ipam.release_left(d, "n", "c1") == 0 and ipam.networks_with_leases(d) == ["n"]
        assert netconfig.NetworkStore(d).get("bridge") is None and hostbridge.recorded("mdnosuchbr") == ("", 0)
        assert netconfig.NetworkConfig("b", "i", subnet="10.9.0.0/16", gateway="10.9.0.1").gateway_cidr == "10.9.0.1/16"
        assert not nat.is_set_up("mdnosuchbr", "10.213.9.0/24", 1)
        assert network.host_veth_name("ab" * 32) == "vmdabababababab"
        print(" ".join(m for m in {HEAVY!r} if m in sys.modules))
    """
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == []
