"""run's --dns/--dns-search/--dns-option, --domainname, --cgroup-parent, --device-cgroup-rule and the
per-device block I/O flags judged by Docker 20.10: the resolv.conf and domain name the container sees,
the cgroup it lands in and the limits and device rules written there, inspect's fields, the warnings
and the refusals (words and exit codes). The block device is a loop device the module makes."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.devices import attach_loop
from tests.fixtures.oracle import Both, Oracle, busybox_both, said

pytestmark = [pytest.mark.root, pytest.mark.slow]

V1 = Path("/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device").exists()
FIELDS = ("Dns", "DnsSearch", "DnsOptions", "CgroupParent", "DeviceCgroupRules", "BlkioWeightDevice",
          "BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps")
NAMES = ("rc1", "rc2", "rc3", "rc4")


@pytest.fixture(scope="module")
def both(oracle: Oracle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Both]:
    with busybox_both(oracle, tmp_path_factory.mktemp("md-runcfg") / "root", NAMES) as b:
        yield b


@pytest.fixture(scope="module")
def loop_device(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with attach_loop(tmp_path_factory.mktemp("md-loop")) as dev:
        yield dev


def _said(stderr: str) -> list[str]:
    """An engine's lines (tests/fixtures/oracle.said), ids as ID and docker as minidock."""
    return said(stderr, ids=True, rename=True)


@pytest.mark.parametrize("flags", [
    (), ("--dns", "1.2.3.4", "--dns-search", "a.com", "--dns-search", "b.org", "--dns-option", "ndots:2",
         "--dns-option", "rotate"),
    ("--dns-search", "."), ("--dns-option", "debug"), ("--dns-search", "corp.lan.", "--dns", " 9.9.9.9"),
    ("--network", "host"), ("--network", "host", "--dns", "1.2.3.4", "--dns-search", "x.y"),
])
def test_resolv_conf_is_dockers(both: Both, flags: tuple[str, ...]) -> None:
    net = () if "--network" in flags else ("--network", "none")
    out = both.same("run", "--rm", *net, *flags, "busybox", "cat", "/etc/resolv.conf")
    if "--dns" in flags:
        assert "nameserver 1.2.3.4" in out or "nameserver 9.9.9.9" in out


def test_the_domain_name_is_set_in_the_container(both: Both) -> None:
    out = both.same("run", "--rm", "--network", "none", "--domainname", "example.com", "-h", "box", "busybox",
                    "sh", "-c", "hostname; cat /proc/sys/kernel/domainname /etc/hostname")
    assert out == "box\nexample.com\nbox\n"
    assert both.same("run", "--rm", "--network", "none", "busybox", "cat", "/proc/sys/kernel/domainname") == \
        "(none)\n"


def test_inspect_shows_the_flags_as_docker(both: Both, loop_device: str) -> None:
    dev = loop_device
    flags = ("--dns", "1.1.1.1", "--dns-search", "a.b", "--dns-option", "ndots:3", "--domainname", "ex.com",
             "--cgroup-parent", "/md-h19-inspect", "--device-cgroup-rule", "c 1:3 rmw", "--device-cgroup-rule",
             "b *:* r", "--device-read-bps", f"{dev}:1mb", "--device-write-bps", f"{dev}:2M",
             "--device-read-iops", f"{dev}:100", "--device-write-iops", f"{dev}:200",
             "--blkio-weight-device", f"{dev}:300")
    for name, extra in (("rc1", flags), ("rc2", ())):
        d, m = both.both("create", "--name", name, *extra, "busybox", "true")
        assert (m.returncode, _said(m.stderr)) == (d.returncode, _said(d.stderr)) and d.returncode == 0, name
        d, m = both.both("inspect", "-f", "{{json .HostConfig}} {{json .Config.Domainname}}", name)
        (dh, dd), (mh, md) = (line.rsplit(" ", 1) for line in (d.stdout, m.stdout))
        dj, mj = json.loads(dh), json.loads(mh)
        assert {k: mj.get(k, "(missing)") for k in FIELDS} == {k: dj[k] for k in FIELDS}, name
        assert md == dd, name


@pytest.mark.skipif(not V1, reason="Docker 20.10's v1 blkio files: the v2 mapping is tested on a tree")
def test_the_cgroup_under_the_parent_gets_the_limits_and_rules_as_with_docker(both: Both, loop_device: str) -> None:
    st = os.stat(loop_device)
    dev = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    parent = f"md-h19-{secrets.token_hex(3)}"
    probe = ("cd /sys/fs/cgroup; for f in read_bps write_bps read_iops write_iops; do "
             "echo $f=$(cat blkio/blkio.throttle.${f}_device); done; cat devices/devices.list")
    flags = ("--cgroup-parent", parent, "--device-read-bps", f"{loop_device}:1mb", "--device-write-bps",
             f"{loop_device}:3m", "--device-read-iops", f"{loop_device}:100", "--device-write-iops",
             f"{loop_device}:0", "--device-cgroup-rule", f"b {dev} r", "--device-cgroup-rule", "c 1:3 rmw")
    try:
        out = both.same("run", "--rm", "--network", "none", *flags, "busybox", "sh", "-c", probe)
        assert f"read_bps={dev} 1048576\n" in out and f"read_iops={dev} 100\n" in out and f"b {dev} r" in out
        for name, engine in (("rc3", both.oracle.docker), ("rc4", both.md)):
            r = engine("run", "-d", "--name", name, "--network", "none", *flags, "busybox", "sleep", "30")
            assert r.returncode == 0, r.stderr
            cid = r.stdout.strip()
            assert Path(f"/sys/fs/cgroup/blkio/{parent}/{cid}/cgroup.procs").read_text().strip(), name
            engine("rm", "-f", name)
            assert not Path(f"/sys/fs/cgroup/blkio/{parent}/{cid}").exists(), name
    finally:
        for top in Path("/sys/fs/cgroup").glob(f"*/{parent}"):
            for sub in top.iterdir():
                if sub.is_dir():
                    sub.rmdir()
            top.rmdir()


@pytest.mark.parametrize("flags", [
    ("--dns", "nope"), ("--dns", "1.2.3.4.5"), ("--dns-search", "a_b.com"), ("--dns-search", "a..b"),
    ("--device-cgroup-rule", "x 1:3 rmw"), ("--device-cgroup-rule", "c 1:3"), ("--device-cgroup-rule", "c 1:3 rwx"),
    ("--device-read-bps", "/dev/loop0"), ("--device-read-bps", "loop0:1mb"), ("--device-read-bps", "/dev/loop0:abc"),
    ("--device-write-bps", "/dev/loop0:-1"), ("--device-read-iops", "/dev/loop0:1.5"),
    ("--blkio-weight-device", "/dev/loop0:5"), ("--blkio-weight-device", "/dev/loop0:abc"),
    ("--network", "container:rc1", "--dns", "1.1.1.1"),
])
@pytest.mark.parametrize("command", ["run", "create"])
def test_bad_values_are_refused_in_dockers_words(both: Both, command: str, flags: tuple[str, ...]) -> None:
    d, m = both.both(command, *flags, "busybox", "true")
    assert (m.returncode, _said(m.stderr)) == (d.returncode, _said(d.stderr)) and d.returncode != 0


def test_warnings_are_dockers(both: Both, loop_device: str) -> None:
    for flags in (("--dns", "127.0.0.1"), ("--dns", "2001:db8::1"), ("--blkio-weight-device", f"{loop_device}:300")):
        d, m = both.both("run", "--rm", "--network", "none", *flags, "busybox", "true")
        assert (m.returncode, _said(m.stderr)) == (d.returncode, _said(d.stderr)), flags


def test_a_device_that_is_not_a_block_device_fails_at_start_as_with_docker(both: Both) -> None:
    d, m = both.both("run", "--rm", "--network", "none", "--device-read-bps", "/dev/null:1mb", "busybox", "true")
    assert m.returncode == d.returncode == 125
    assert "no such device" in d.stderr and "no such device" in m.stderr.lower()
