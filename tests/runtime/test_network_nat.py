"""iptables rules in minidock's own chains: pure planning, then real rules (root) removed exactly."""

from __future__ import annotations

import re
import secrets
import socket
import subprocess
from pathlib import Path

import pytest

from minidock.runtime.net import nat, network
from minidock.runtime.net.network import NetworkAttachRequest
from minidock.runtime.net.portmap import PortMapping
from tests.runtime.test_network import _netns_child, _start_server

FOREIGN = """*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -p tcp -m tcp --dport 80 -j DNAT --to-destination 172.17.0.2:80
COMMIT
*filter
:FORWARD DROP [0:0]
COMMIT
"""


def test_plan_setup_adds_chains_jumps_and_rules_once() -> None:
    rules = nat.network_rules("mdk-abc", "10.88.0.0/16")
    text = nat.plan_setup(FOREIGN, rules)
    assert ":MINIDOCK-POSTROUTING - [0:0]" in text and ":MINIDOCK-FORWARD - [0:0]" in text
    assert "-A POSTROUTING -j MINIDOCK-POSTROUTING" in text
    assert "-A OUTPUT -m addrtype --dst-type LOCAL -j MINIDOCK-DNAT" in text  # 127/8 included
    assert "-I INPUT 1 -j MINIDOCK-INPUT" in text and "-I FORWARD 1 -j MINIDOCK-FORWARD" in text
    assert ("-A MINIDOCK-POSTROUTING -s 10.88.0.0/16 ! -o mdk-abc -j MASQUERADE "
            "-m comment --comment minidock:net:mdk-abc") in text
    assert "-A MINIDOCK-POSTROUTING -s 127.0.0.0/8 -o mdk-abc -j MASQUERADE" in text
    assert "-A MINIDOCK-INPUT -i mdk-abc -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED -j DROP" in text
    assert "DOCKER" not in text  # never touches foreign chains
    assert nat.plan_setup(_merge(FOREIGN, text), rules) == ""  # applied once: nothing more to add
    reordered = _merge(FOREIGN, text).replace(" -j MASQUERADE -m comment --comment \"minidock:net:mdk-abc\"",
                                              " -m comment --comment \"minidock:net:mdk-abc\" -j MASQUERADE")
    assert nat.plan_setup(reordered, rules) == ""  # iptables-save's order of the same rule


def test_plan_setup_adds_a_second_subnet_on_a_shared_bridge_and_upgrades_old_jumps() -> None:
    first = _merge(FOREIGN, nat.plan_setup(FOREIGN, nat.network_rules("minidock0", "10.88.0.0/16")))
    text = nat.plan_setup(first, nat.network_rules("minidock0", "10.89.0.0/16"))
    assert "-A MINIDOCK-POSTROUTING -s 10.89.0.0/16 ! -o minidock0 -j MASQUERADE" in text
    assert "10.88.0.0/16" not in text
    old = first.replace("-A OUTPUT -m addrtype", "-A OUTPUT ! -d 127.0.0.0/8 -m addrtype")
    up = nat.plan_setup(old, [])
    assert "-D OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j MINIDOCK-DNAT" in up
    assert "-A OUTPUT -m addrtype --dst-type LOCAL -j MINIDOCK-DNAT" in up


def test_networks_are_isolated_like_dockers_isolation_chains() -> None:
    rules = nat.network_rules("mdk-a", "10.90.0.0/16")
    text = nat.plan_setup(FOREIGN, rules)
    assert ":MINIDOCK-ISOLATION-STAGE-1 - [0:0]" in text and ":MINIDOCK-ISOLATION-STAGE-2 - [0:0]" in text
    assert ("-A MINIDOCK-ISOLATION-STAGE-1 -i mdk-a ! -o mdk-a -j MINIDOCK-ISOLATION-STAGE-2 "
            "-m comment --comment minidock:net:mdk-a") in text
    assert "-A MINIDOCK-ISOLATION-STAGE-2 -o mdk-a -j DROP -m comment --comment minidock:net:mdk-a" in text
    after = _merge(FOREIGN, text)
    forward = [ln for ln in nat.parse_save(after)["filter"] if ln.startswith("-A FORWARD ")]
    assert forward == ["-A FORWARD -j MINIDOCK-ISOLATION-STAGE-1", "-A FORWARD -j MINIDOCK-FORWARD"]
    # a second network adds only its own rules; nothing of the first is touched
    second = nat.plan_setup(after, nat.network_rules("mdk-b", "10.91.0.0/16"))
    assert "-o mdk-b -j DROP" in second and "mdk-a" not in second and "-I FORWARD" not in second
    # an older setup (MINIDOCK-FORWARD jump only) gets the isolation jump in front of it
    old = after.replace("-A FORWARD -j MINIDOCK-ISOLATION-STAGE-1\n", "")
    assert "-I FORWARD 1 -j MINIDOCK-ISOLATION-STAGE-1" in nat.plan_setup(old, rules)
    # a jump found behind another rule is moved back to the front
    iso, fwd = "-A FORWARD -j MINIDOCK-ISOLATION-STAGE-1\n", "-A FORWARD -j MINIDOCK-FORWARD\n"
    behind = after.replace(iso, "").replace(fwd, fwd + iso)
    fix = nat.plan_setup(behind, rules)
    assert "-D FORWARD -j MINIDOCK-ISOLATION-STAGE-1" in fix and "-I FORWARD 1 -j MINIDOCK-ISOLATION-STAGE-1" in fix
    teardown = nat.plan_teardown(after.replace("minidock:net:mdk-a", "gone"))
    assert "-X MINIDOCK-ISOLATION-STAGE-1" in teardown and "-X MINIDOCK-ISOLATION-STAGE-2" in teardown


def _merge(save: str, restore: str) -> str:
    """What iptables-save would print after `iptables-restore --noflush restore` (comments quoted)."""
    tables = nat.parse_save(save)
    for table, lines in nat.parse_save(restore).items():
        for ln in lines:
            ln = re.sub(r"--comment (\S+)", r'--comment "\1"', ln)
            if ln.startswith("-I "):  # `-I CHAIN 1 ...` is listed as `-A CHAIN ...`, first of its chain
                chain, _one, rest = ln[3:].split(" ", 2)
                tables.setdefault(table, []).insert(0, f"-A {chain} {rest}")
            else:
                tables.setdefault(table, []).append(ln)
    return "".join(f"*{t}\n" + "".join(f"{ln}\n" for ln in lines) + "COMMIT\n" for t, lines in tables.items())


def test_port_rules_dnat_loopback_skip_ipv6_and_carry_the_container_tag() -> None:
    maps = [PortMapping(80, 8080), PortMapping(53, 5353, "", "udp"), PortMapping(81, 8081, "127.0.0.1"),
            PortMapping(82, 8082, "::1")]
    rules = nat.port_rules("c0ffee", "mdk-abc", "10.88.0.5", maps)
    assert len(rules) == 7  # 3 + 3 + the loopback port's DNAT alone (its traffic never crosses FORWARD)
    assert all(r.args.endswith("--comment minidock:c0ffee") for r in rules)
    dnat = [r.args for r in rules if r.chain == nat.DNAT]
    assert dnat[0].startswith("! -i mdk-abc -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.88.0.5:80")
    assert "-p udp -m udp --dport 5353" in dnat[1]
    assert dnat[2].startswith("-d 127.0.0.1/32 ! -i mdk-abc -p tcp -m tcp --dport 8081 -j DNAT")
    one_ip = nat.port_rules("c", "br", "10.88.0.5", [PortMapping(80, 8080, "192.0.2.9")])
    assert one_ip[0].args.startswith("-d 192.0.2.9/32 ! -i br")


def test_plan_remove_deletes_only_the_tagged_rules() -> None:
    save = FOREIGN.replace("COMMIT\n*filter", '-A MINIDOCK-DNAT -p tcp -j DNAT --to-destination 1.2.3.4:1 '
                           '-m comment --comment "minidock:abc"\n'
                           '-A MINIDOCK-DNAT -p tcp -j DNAT -m comment --comment "minidock:abcd"\nCOMMIT\n*filter')
    out = nat.plan_remove(save, "abc")
    assert out == ('*nat\n-D MINIDOCK-DNAT -p tcp -j DNAT --to-destination 1.2.3.4:1 '
                   '-m comment --comment "minidock:abc"\nCOMMIT\n')
    assert nat.plan_remove(FOREIGN, "abc") == ""


def test_plan_teardown_waits_for_last_rule() -> None:
    save = _merge(FOREIGN, nat.plan_setup(FOREIGN, []))
    text = nat.plan_teardown(save)
    assert "-D POSTROUTING -j MINIDOCK-POSTROUTING" in text and "-X MINIDOCK-DNAT" in text
    assert "-D FORWARD -j MINIDOCK-FORWARD" in text
    assert "DOCKER" not in text
    assert "-D INPUT -j MINIDOCK-INPUT" in text and "-X MINIDOCK-INPUT" in text
    assert nat.plan_teardown(_merge(save, nat.plan_setup(save, nat.network_rules("br", "10.1.0.0/16")))) == ""
    assert nat.plan_teardown(FOREIGN) == ""


def _nat_lines(word: str) -> list[str]:
    out = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return [ln for ln in out.splitlines() if word in ln]


@pytest.mark.root
def test_real_rules_dnat_traffic_and_exact_removal(tmp_path: Path) -> None:
    third = secrets.randbelow(250) + 1
    bridge, subnet, gw = f"mdt{secrets.token_hex(4)}", f"10.213.{third}.0/24", f"10.213.{third}.1"
    cid = secrets.token_hex(32)
    child = _netns_child()
    srv = None
    try:
        network.ensure_bridge(bridge, f"{gw}/24")
        nat.setup_network(bridge, subnet)
        nat.setup_network(bridge, subnet)  # idempotent
        assert len(_nat_lines(f"minidock:net:{bridge}")) == 7
        assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == "1"
        att = network.attach(child.pid, NetworkAttachRequest("mdtest", bridge, subnet, cid, tmp_path))
        srv = _start_server(child.pid, 7070)
        with socket.socket() as probe:  # a free port for the host side
            probe.bind(("127.0.0.1", 0))
            host_port = probe.getsockname()[1]
        nat.add_port_rules(cid, bridge, att.ip, [PortMapping(7070, host_port)])
        nat.add_port_rules(cid, bridge, att.ip, [PortMapping(7070, host_port)])  # replaces, no duplicates
        assert len(_nat_lines(f"minidock:{cid}")) == 3
        # the gateway address is local and ours: OUTPUT -> MINIDOCK-DNAT sends it to the container
        with socket.create_connection((gw, host_port), timeout=5) as c:
            assert c.recv(100).decode().startswith("hello ")
        nat.remove_rules(cid)
        assert _nat_lines(f"minidock:{cid}") == []
        assert len(_nat_lines(f"minidock:net:{bridge}")) == 7  # other owners untouched
    finally:
        if srv:
            srv.kill()
            srv.wait()
        nat.remove_rules(cid)
        nat.remove_network_rules(bridge)
        network.detach(cid, tmp_path)
        network.remove_bridge(bridge)
        child.kill()
        child.wait()
    assert _nat_lines(bridge) == [] and _nat_lines(cid) == []
    if nat.teardown_all():  # only when no other minidock rules exist (other tests may run concurrently)
        assert _nat_lines("MINIDOCK") == []


@pytest.mark.root
def test_setup_is_remembered_per_bridge_index_and_forgotten_with_the_rules() -> None:
    third = secrets.randbelow(250) + 1
    bridge, subnet = f"mdt{secrets.token_hex(4)}", f"10.214.{third}.0/24"
    try:
        index = network.ensure_bridge(bridge, f"10.214.{third}.1/24")
        assert not nat.is_set_up(bridge, subnet, index)
        nat.setup_network(bridge, subnet, index)
        assert nat.is_set_up(bridge, subnet, index)
        assert not nat.is_set_up(bridge, subnet, index + 1)  # a recreated bridge is set up again
        assert not nat.is_set_up(bridge, "10.215.0.0/24", index)  # so is another subnet on it
        nat.setup_network(bridge, subnet, index)  # remembered: no iptables run
        assert len(_nat_lines(f"minidock:net:{bridge}")) == 7
        nat.remove_network_rules(bridge)
        assert not nat.is_set_up(bridge, subnet, index) and _nat_lines(f"minidock:net:{bridge}") == []
        nat.setup_network(bridge, subnet, index)
        assert len(_nat_lines(f"minidock:net:{bridge}")) == 7
        assert Path(f"/proc/sys/net/ipv4/conf/{bridge}/route_localnet").read_text().strip() == "0"
        nat.route_localnet(bridge)  # what add_port_rules does for published ports
        assert Path(f"/proc/sys/net/ipv4/conf/{bridge}/route_localnet").read_text().strip() == "1"
    finally:
        nat.remove_network_rules(bridge)
        network.remove_bridge(bridge)
    assert _nat_lines(bridge) == []
