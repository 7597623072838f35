"""/sys/fs/cgroup inside the container: the view made from the container's group directories (pure),
then probed from inside on the real kernel (v1 hierarchies on this hybrid host, cgroup2 through its
`unified` mount, and a cgroup2 host laid out as a plain tree)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from minidock.oci.runtimespec import Resources, Spec, default_mounts
from minidock.runtime import process
from minidock.runtime.cgroupview import CgroupView, Hierarchy, v1_view
from minidock.runtime.explain import Tracer
from tests.runtime.test_container import Runner, busybox_lower  # noqa: F401 - the fixture

CGROUP_MOUNT = next(m for m in default_mounts() if m.type == "cgroup")
UNIFIED = Path("/sys/fs/cgroup/unified")
CGROUP = Path("/sys/fs/cgroup")


# ---- pure ---------------------------------------------------------------------------------------

def test_v1_view_mounts_each_hierarchy_once_with_links_for_comounts() -> None:
    g = "minidock/abc"
    dirs = {"cpu": f"/sys/fs/cgroup/cpu,cpuacct/{g}", "cpuacct": f"/sys/fs/cgroup/cpu,cpuacct/{g}",
            "net_cls": f"/sys/fs/cgroup/net_cls,net_prio/{g}", "net_prio": f"/sys/fs/cgroup/net_cls,net_prio/{g}",
            "memory": f"/sys/fs/cgroup/memory/{g}", "systemd": f"/sys/fs/cgroup/systemd/{g}"}
    assert v1_view(g, dirs) == CgroupView(1, (
        Hierarchy("cpu,cpuacct", "cpu,cpuacct", ("cpu", "cpuacct")),
        Hierarchy("memory", "memory"),
        Hierarchy("net_cls,net_prio", "net_cls,net_prio", ("net_cls", "net_prio")),
        Hierarchy("systemd", "name=systemd"),
    ))


def test_v1_view_names_a_comount_as_the_host_does() -> None:
    g = "minidock/abc"  # a host that mounts cpu,cpuacct at .../cpu with a cpuacct -> cpu symlink
    dirs = {"cpu": f"/cg/cpu/{g}", "cpuacct": f"/cg/cpu/{g}", "pids": f"/cg/pids/{g}"}
    assert v1_view(g, dirs).hierarchies == (Hierarchy("cpu", "cpu,cpuacct", ("cpuacct",)), Hierarchy("pids", "pids"))


def test_this_hosts_groups_give_the_view() -> None:
    if not Path("/sys/fs/cgroup/memory").is_dir():
        pytest.skip("no v1 memory hierarchy")
    from minidock.runtime.cgroups_v1 import V1Driver

    d = V1Driver()
    view = v1_view("minidock/x", {c: os.path.realpath(CGROUP / c / "minidock/x") for c in d.controllers})
    assert {h.dir for h in view.hierarchies} == {os.path.basename(os.path.realpath(CGROUP / c)) for c in d.controllers}


# ---- on the real kernel -------------------------------------------------------------------------

@pytest.fixture
def box(busybox_lower: Path, tmp_path: Path) -> Runner:  # noqa: F811 - the imported fixture
    return Runner(busybox_lower, tmp_path)


def _run(box: Runner, spec: Spec, root: Path | None, tracer: Tracer | None = None) -> tuple[int, str, str]:
    out, err = box.tmp / f"out{box.n}", box.tmp / f"err{box.n}"
    with open(out, "w+b") as fo, open(err, "w+b") as fe, open(os.devnull, "rb") as fi:
        opts = process.RunOptions(cgroup_root=root, stdin=fi.fileno(), stdout=fo.fileno(), stderr=fe.fileno())
        if tracer is not None:
            opts.tracer = tracer
        st = process.run(spec, opts)
    return st.code, out.read_text(), err.read_text()


def _spec(box: Runner, script: str, name: str = "", res: Resources | None = None) -> Spec:
    spec = box.spec("sh", "-c", script, mounts=(CGROUP_MOUNT,))
    linux = spec.linux._replace(cgroups_path=name or spec.linux.cgroups_path, resources=res or Resources())
    return spec._replace(linux=linux)


PROBE = ("grep ' /sys/fs/cgroup' /proc/mounts | cut -d' ' -f2,3,4 | cut -d, -f1; cat /proc/self/cgroup; "
         "touch /sys/fs/cgroup/x 2>/dev/null || echo ro-ok")


@pytest.mark.root
def test_v1_hierarchies_show_the_containers_own_group(box: Runner) -> None:
    if Path("/sys/fs/cgroup/cgroup.controllers").exists():
        pytest.skip("a cgroup2 host")
    tracer = Tracer()
    spec = _spec(box, PROBE + "; cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max;"
                 "echo 1 > /sys/fs/cgroup/pids/pids.max 2>/dev/null || echo ro-ok", res=Resources(
                     memory_limit=32 << 20, pids_limit=7))
    code, out, err = _run(box, spec, Path("/sys/fs/cgroup"), tracer)
    assert code == 0, err
    lines = out.splitlines()
    assert "/sys/fs/cgroup tmpfs ro" in lines and "/sys/fs/cgroup/memory cgroup ro" in lines
    assert all(ln.endswith(":/") for ln in lines if ln.count(":") == 2)  # every hierarchy's root is ours
    assert lines[-4:] == ["ro-ok", "33554432", "7", "ro-ok"]
    titles = [s.title for s in tracer.steps]
    assert "mount a tmpfs for the cgroup hierarchies" in titles and "make the cgroup tmpfs read-only" in titles
    assert any(t.startswith("mount ") and t.endswith("cgroup v1 hierarchies") for t in titles)


@pytest.mark.root
def test_cgroup2_through_the_unified_mount(box: Runner) -> None:
    if not (UNIFIED / "cgroup.procs").exists():
        pytest.skip("no hybrid cgroup2 mount")
    name = f"minidock/test-{secrets.token_hex(4)}"
    code, out, err = _run(box, _spec(box, PROBE + "; cat /sys/fs/cgroup/cgroup.procs | head -1", name), UNIFIED)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "/sys/fs/cgroup cgroup2 ro" and "0::/" in lines
    assert lines[-2:] == ["ro-ok", "1"]  # the group holds the container's PID 1, as seen from inside
    assert not (UNIFIED / name).exists()


@pytest.mark.root
def test_without_a_group_of_its_own_the_view_is_empty(box: Runner) -> None:
    code, out, err = _run(box, _spec(box, "ls /sys/fs/cgroup | wc -l; " + PROBE), None)
    assert code == 0, err
    assert out.splitlines()[:2] == ["0", "/sys/fs/cgroup tmpfs ro"]


# ---- a pure cgroup2 host, laid out as a plain tree ----------------------------------------------

@pytest.fixture
def v2tree(tmp_path: Path) -> Path:
    """/sys/fs/cgroup of a cgroup2 host as plain files; the group pre-made with `cgroup.kill`, so
    cleanup kills through that file and never signals a pid read back from the fake cgroup.procs."""
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text("")
    return root


@pytest.mark.root
def test_the_run_path_on_a_cgroup2_host_tree(box: Runner, v2tree: Path) -> None:
    name = f"minidock/test-{secrets.token_hex(4)}"
    group = v2tree / name
    group.mkdir(parents=True)
    (group / "cgroup.kill").write_text("")
    tracer = Tracer()
    spec = _spec(box, PROBE, name, Resources(memory_limit=32 << 20, cpu_quota=50000, cpu_period=100000))
    code, out, err = _run(box, spec, v2tree, tracer)
    assert code == 0, err
    assert out.splitlines()[0] == "/sys/fs/cgroup cgroup2 ro"  # the in-container mount is cgroup2
    assert (v2tree / "cgroup.subtree_control").read_text() == "+cpu +memory +pids\n"
    assert (v2tree / "minidock" / "cgroup.subtree_control").read_text() == "+cpu +memory +pids\n"
    shells = {s.title: s.shell for s in tracer.steps}
    assert shells["cgroup: limit memory"] == f"echo 33554432 > {group}/memory.max"
    assert shells["cgroup: limit cpu"] == f"echo 50000 100000 > {group}/cpu.max"
    joined = shells["cgroup: join"]  # the parent moved the intermediate child through cgroup.procs
    assert joined.endswith(f"> {group}/cgroup.procs") and joined.split()[1].isdigit()
    assert "cgroup: kill" in shells and not group.exists()  # cleanup: cgroup.kill, then rmdir


def test_cgroup2_without_swap_accounting_skips_the_swap_limit(v2tree: Path) -> None:
    from minidock.runtime.cgroups import detect

    group = v2tree / "minidock" / "noswap"
    group.mkdir(parents=True)
    (group / "cgroup.controllers").write_text("cpu memory pids\n")  # a kernel-made group: no memory.swap.max
    cg = detect(v2tree).create("noswap", Resources(memory_limit=32 << 20, memory_swap=64 << 20))
    assert (group / "memory.max").read_text() == "33554432\n" and not (group / "memory.swap.max").exists()
    cg.remove()
    cg = detect(v2tree).create("swap", Resources(memory_limit=32 << 20, memory_swap=64 << 20))
    assert (v2tree / "minidock" / "swap" / "memory.swap.max").read_text() == "33554432\n"
    cg.remove()
