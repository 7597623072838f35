"""/etc/hosts, /etc/resolv.conf and /etc/hostname contents (pure)."""

from __future__ import annotations

import pytest

from minidock.errors import UsageError
from minidock.runtime.net import netfiles
from minidock.runtime.net.netfiles import DnsOptions, ExtraHost

RESOLVED = """# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).
nameserver 127.0.0.53
options edns0 trust-ad
search corp.example lab.example
"""


def test_hosts_has_localhost_container_and_extra_hosts() -> None:
    text = netfiles.hosts_file("abc123", "10.88.0.2", aliases=("web",),
                               extra=(netfiles.parse_add_host("db:10.0.0.9"),))
    lines = text.splitlines()
    assert lines[0] == "127.0.0.1\tlocalhost"
    assert "::1\tlocalhost ip6-localhost ip6-loopback" in lines
    assert "10.0.0.9\tdb" in lines
    assert lines[-1] == "10.88.0.2\tabc123 web"
    assert text.endswith("\n")


def test_hosts_without_address_has_no_container_line() -> None:
    text = netfiles.hosts_file("abc123", None)
    assert "abc123" not in text
    assert text.startswith("127.0.0.1\tlocalhost\n")


def test_parse_add_host_forms() -> None:
    assert netfiles.parse_add_host("h:1.2.3.4") == ExtraHost("h", "1.2.3.4")
    assert netfiles.parse_add_host("h:::1") == ExtraHost("h", "::1")
    assert netfiles.parse_add_host("h=[fd00::2]") == ExtraHost("h", "fd00::2")
    with pytest.raises(UsageError, match="invalid add-host h:nope"):
        netfiles.parse_add_host("h:nope")
    with pytest.raises(UsageError, match="expected name:ip"):
        netfiles.parse_add_host("justname")


def test_resolv_replaces_loopback_servers_and_keeps_search_options() -> None:
    out = netfiles.resolv_conf(RESOLVED)
    assert out == ("nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
                   "search corp.example lab.example\noptions edns0 trust-ad\n")


def test_resolv_keeps_real_servers_and_drops_only_loopback() -> None:
    host = "nameserver 127.0.0.1\nnameserver ::1\nnameserver 10.255.255.53\ndomain x.example\n"
    assert netfiles.resolv_conf(host) == "nameserver 10.255.255.53\nsearch x.example\n"


def test_resolv_dns_flags_override() -> None:
    dns = DnsOptions(servers=("1.1.1.1",), search=("a.example",), options=("ndots:2",))
    assert netfiles.resolv_conf(RESOLVED, dns) == "nameserver 1.1.1.1\nsearch a.example\noptions ndots:2\n"
    assert "search" not in netfiles.resolv_conf(RESOLVED, DnsOptions(search=(".",)))


def test_resolv_of_empty_host_file_uses_defaults() -> None:
    assert netfiles.resolv_conf("") == "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"


def test_hostname_file() -> None:
    assert netfiles.hostname_file("abc") == "abc\n"
