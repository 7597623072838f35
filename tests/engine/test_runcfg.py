"""run's DNS, domain name, cgroup parent, device cgroup rules and per-device block I/O flags, pure: Docker
20.10's client checks (words checked against it, see test_runcfg_oracle.py), the daemon's discards, the
HostConfig fields and the spec they make."""

from __future__ import annotations

import os

import pytest

from minidock.cli.runargs import parse
from minidock.engine.devices import cgroup_rule, check_cgroup_rule, device_config
from minidock.engine.resources import Limits, limits_of, parse_block_device, settle
from minidock.engine.spec import RunFlags, SpecInputs, build_spec, cgroups_path
from minidock.errors import FlagError, InvalidParameterError
from minidock.oci.imageconfig import ContainerConfig
from minidock.oci.runtimespec import DEFAULT_DEVICE_RULES, DeviceRule
from minidock.runtime.cgroupmap import Support

CID = "0123456789abcdef" * 4
BPS_WORDS = ("The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is "
             "optional and can be kb, mb, or gb")


@pytest.mark.parametrize(("text", "want"), [("c 1:3 rmw", DeviceRule(True, "c", 1, 3, "rmw")),
                                            ("b *:* r", DeviceRule(True, "b", -1, -1, "r")),
                                            ("a 7:* mm", DeviceRule(True, "a", 7, -1, "mm"))])
def test_device_cgroup_rules_become_allow_rules(text: str, want: DeviceRule) -> None:
    assert cgroup_rule(text) == want


@pytest.mark.parametrize("text", ["x 1:3 rmw", "c 1:3", "c 1:3 rwx", "a", "c 1 rw", " c 1:3 rw", "c 1:3 rw ",
                                  "c 1:3 rwmr", "c -1:3 r", "c 1:3  r"])
def test_bad_device_cgroup_rules_are_refused_in_dockers_words(text: str) -> None:
    with pytest.raises(ValueError, match=f"^invalid device cgroup format '{text}'$"):
        check_cgroup_rule(text)


def test_a_major_past_int64_is_the_daemons_refusal() -> None:
    with pytest.raises(InvalidParameterError, match="invalid major value in device cgroup rule format"):
        cgroup_rule("b 99999999999999999999:1 r")


def test_rules_follow_the_devices_and_privileged_ignores_them() -> None:
    assert device_config((), False, ("c 1:3 r",))[1] == (*DEFAULT_DEVICE_RULES, DeviceRule(True, "c", 1, 3, "r"))
    assert device_config((), True, ("c 1:3 r",))[1] == (DeviceRule(True),)


@pytest.mark.parametrize(("text", "kind", "want"), [
    ("/dev/loop0:1mb", "read_bps", ("/dev/loop0", 1 << 20)), ("/dev/sda:2M", "write_bps", ("/dev/sda", 2 << 20)),
    ("/dev/sda:1.5k", "read_bps", ("/dev/sda", 1536)), ("/dev/sda:0", "write_bps", ("/dev/sda", 0)),
    ("/dev/sda:100", "read_iops", ("/dev/sda", 100)), ("/dev/sda:300", "weight", ("/dev/sda", 300)),
    ("/dev/sda:0", "weight", ("/dev/sda", 0)), ("/dev/nonexist:1", "write_iops", ("/dev/nonexist", 1))])
def test_block_device_values_are_read_as_dockers_client_reads_them(text: str, kind: str,
                                                                   want: tuple[str, int]) -> None:
    assert parse_block_device(text, kind) == want


@pytest.mark.parametrize(("text", "kind", "words"), [
    ("/dev/loop0", "read_bps", "bad format: /dev/loop0"),
    ("loop0:1mb", "read_bps", "bad format for device path: loop0:1mb"),
    ("/tmp:1m", "weight", "bad format for device path: /tmp:1m"),
    ("/dev/loop0:abc", "read_bps", f"invalid rate for device: /dev/loop0:abc. {BPS_WORDS}"),
    ("/dev/loop0:-1", "write_bps", f"invalid rate for device: /dev/loop0:-1. {BPS_WORDS}"),
    ("/dev/loop0:1.5", "read_iops", "invalid rate for device: /dev/loop0:1.5. The correct format is "
                                    "<device-path>:<number>. Number must be a positive integer"),
    ("/dev/loop0:5", "weight", "invalid weight for device: /dev/loop0:5"),
    ("/dev/loop0:1001", "weight", "invalid weight for device: /dev/loop0:1001"),
    ("/dev/loop0:abc", "weight", "invalid weight for device: /dev/loop0:abc")])
def test_bad_block_device_values_are_refused_in_dockers_words(text: str, kind: str, words: str) -> None:
    with pytest.raises(ValueError) as e:
        parse_block_device(text, kind)
    assert str(e.value) == words


def test_the_cli_refuses_them_with_dockers_two_lines_and_keeps_dns_values_canonical() -> None:
    with pytest.raises(FlagError) as e:
        parse("run", ["--device-write-iops", "/dev/sda:x", "busybox"])
    assert str(e.value).splitlines() == [
        'invalid argument "/dev/sda:x" for "--device-write-iops" flag: invalid rate for device: /dev/sda:x. The '
        'correct format is <device-path>:<number>. Number must be a positive integer', "See 'minidock run --help'."]
    with pytest.raises(FlagError, match='for "--dns" flag: nope is not an ip address'):
        parse("create", ["--dns", "nope", "busybox"])
    req = parse("run", ["--dns", " 1.1.1.1", "--dns-search", "a.b.", "--dns-option", "ndots:2", "--domainname",
                        "ex.com", "--cgroup-parent", "/p", "busybox"])
    assert (req.dns, req.dns_search, req.dns_options, req.domainname, req.cgroup_parent) == \
        (("1.1.1.1",), ("a.b",), ("ndots:2",), "ex.com", "/p")


def test_host_config_shows_the_devices_as_docker_and_discards_what_the_host_lacks() -> None:
    req = parse("run", ["--device-read-bps", "/dev/sda:1mb", "--device-write-iops", "/dev/sdb:7",
                        "--blkio-weight-device", "/dev/sda:300", "busybox"])
    host = Support(blkio_devices=("read_bps", "write_bps", "read_iops", "write_iops"))
    kept, warnings = settle(limits_of(req), host)
    assert warnings == ["Your kernel does not support Block I/O weight_device or the cgroup is not mounted. "
                        "Weight-device discarded."]
    fields = kept.host_config()
    assert {k: v for k, v in fields.items() if k.startswith("Blkio") and k != "BlkioWeight"} == {
        "BlkioWeightDevice": [], "BlkioDeviceReadBps": [{"Path": "/dev/sda", "Rate": 1048576}],
        "BlkioDeviceWriteBps": None, "BlkioDeviceReadIOps": None,
        "BlkioDeviceWriteIOps": [{"Path": "/dev/sdb", "Rate": 7}]}
    _, warnings = settle(limits_of(req), Support())
    assert len(warnings) == 3 and warnings[1].startswith("Your kernel does not support BPS Block I/O read limit")
    assert Limits().host_config()["BlkioDeviceReadBps"] is None


@pytest.mark.parametrize(("parent", "want"), [("", f"minidock/{CID}"), ("/mdp", f"/mdp/{CID}"),
                                              ("mdp/sub", f"/mdp/sub/{CID}"), ("/", f"/{CID}"),
                                              ("../../x", f"/x/{CID}")])
def test_cgroup_parent_is_a_path_under_the_hierarchy_root(parent: str, want: str) -> None:
    assert cgroups_path(parent, CID) == want


def test_the_spec_carries_domainname_cgroup_path_rules_and_block_devices() -> None:
    st = os.stat("/dev/null")
    req = parse("run", ["--device-read-iops", "/dev/null:5", "busybox"])
    flags = RunFlags(domainname="ex.com", cgroup_parent="/mdp", device_cgroup_rules=("c 1:3 r",),
                     resources=limits_of(req).onto(RunFlags().resources))
    spec = build_spec(SpecInputs(image=ContainerConfig(cmd=("sh",)), rootfs=(), root_path="/r", container_id=CID),
                      flags, {})
    assert spec.domainname == "ex.com" and spec.to_json()["domainname"] == "ex.com"
    assert spec.linux.cgroups_path == f"/mdp/{CID}"
    assert spec.linux.resources.devices[-1] == DeviceRule(True, "c", 1, 3, "r")
    assert spec.to_json()["linux"]["resources"]["blockIO"] == {
        "throttleReadIOPSDevice": [{"major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev), "rate": 5}]}
