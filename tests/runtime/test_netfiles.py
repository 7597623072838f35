"""/etc/hosts, /etc/resolv.conf and /etc/hostname contents (pure)."""

from __future__ import annotations

from pathlib import Path

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


# ---- `run`'s resolv.conf as Docker 20.10 writes it ----------------------------------------------
# The expected texts are what a private dockerd 20.10 (--bridge none) wrote for `run --network none`
# with each host file bind-mounted over its /etc/resolv.conf (checked by hand: dockerd reads the real
# /etc/resolv.conf, so the oracle tests cover only this host's file; these cover the other shapes).
MIXED = ("# a comment\nnameserver 127.0.0.1\ndomain home.lan\nnameserver ::1\noptions edns0\n"
         "nameserver 10.0.0.9 # tail\nsearch a.example b.example\n")
LOOPBACK_ONLY = "nameserver 127.0.0.1\nnameserver 127.0.1.1\nsearch s.lan\n"


@pytest.mark.parametrize(("host", "dns", "want"), [
    (MIXED, DnsOptions(), "# a comment\ndomain home.lan\noptions edns0\nnameserver 10.0.0.9 # tail\n"
                          "search a.example b.example\n"),
    (MIXED, DnsOptions(search=("x.y",)),
     "search x.y\nnameserver 127.0.0.1\nnameserver ::1\nnameserver 10.0.0.9\noptions edns0\n"),
    (MIXED, DnsOptions(options=("ndots:1",)),
     "search a.example b.example\nnameserver 127.0.0.1\nnameserver ::1\nnameserver 10.0.0.9\noptions ndots:1\n"),
    (MIXED, DnsOptions(servers=("9.9.9.9",)), "search a.example b.example\nnameserver 9.9.9.9\noptions edns0\n"),
    (MIXED, DnsOptions(("1.2.3.4",), ("a.com", "b.org"), ("ndots:2", "rotate")),
     "search a.com b.org\nnameserver 1.2.3.4\noptions ndots:2 rotate\n"),
    (LOOPBACK_ONLY, DnsOptions(), "search s.lan\n\nnameserver 8.8.8.8\nnameserver 8.8.4.4"),
    (LOOPBACK_ONLY, DnsOptions(search=(".",), options=("debug",)),
     "nameserver 127.0.0.1\nnameserver 127.0.1.1\noptions debug\n"),
    ("nameserver 127.0.0.1\nnameserver fe80::1\n", DnsOptions(), "\nnameserver 8.8.8.8\nnameserver 8.8.4.4"),
    ("", DnsOptions(), "\nnameserver 8.8.8.8\nnameserver 8.8.4.4"),
])
def test_container_resolv_is_dockers(host: str, dns: DnsOptions, want: str) -> None:
    assert netfiles.container_resolv(host, dns) == want


def test_container_resolv_with_host_network_is_the_hosts_file_unless_a_flag_rebuilds_it() -> None:
    assert netfiles.container_resolv(LOOPBACK_ONLY, host_network=True) == LOOPBACK_ONLY
    assert netfiles.container_resolv(MIXED, DnsOptions(("1.2.3.4",), ("x.y",)), host_network=True) == \
        "search x.y\nnameserver 1.2.3.4\noptions edns0\n"


def test_host_resolv_reads_systemd_resolveds_upstream_file_for_its_stub(tmp_path: Path) -> None:
    stub, upstream = tmp_path / "resolv.conf", tmp_path / "upstream.conf"
    stub.write_text("# stub\nnameserver 127.0.0.53\noptions edns0 trust-ad\n")
    upstream.write_text("nameserver 10.1.1.1\n")
    assert netfiles.host_resolv(str(stub), str(upstream)) == "nameserver 10.1.1.1\n"
    assert netfiles.host_resolv(str(stub), str(tmp_path / "absent")) == stub.read_text()
    assert netfiles.host_resolv(str(stub)) == stub.read_text()  # not /etc/resolv.conf: no upstream file
    stub.write_text("nameserver 127.0.0.53\nnameserver 10.2.2.2\n")  # Docker: only a lone stub counts
    assert netfiles.host_resolv(str(stub), str(upstream)) == stub.read_text()
    assert netfiles.host_resolv(str(tmp_path / "absent")) == ""


@pytest.mark.parametrize(("text", "want"), [(" 1.1.1.1", "1.1.1.1"), ("::1", "::1"),
                                            ("2001:0db8::0001", "2001:db8::1")])
def test_dns_servers_are_kept_as_dockers_client_keeps_them(text: str, want: str) -> None:
    assert netfiles.check_dns_server(text) == want


@pytest.mark.parametrize(("text", "want"), [(".", "."), ("a.b.", "a.b"), ("x-1.example", "x-1.example"),
                                            (" corp.lan ", "corp.lan")])
def test_dns_search_domains_are_kept_as_dockers_client_keeps_them(text: str, want: str) -> None:
    assert netfiles.check_dns_search(text) == want


@pytest.mark.parametrize("text", ["a_b.com", "-a.com", "a..b", "123", "a-.b", "x" * 255])
def test_bad_dns_search_domains_are_refused_in_dockers_words(text: str) -> None:
    with pytest.raises(ValueError, match=f"^{text} is not a valid domain$"):
        netfiles.check_dns_search(text)


def test_a_loopback_dns_server_gets_dockers_warning_once() -> None:
    assert netfiles.localhost_dns_warning(("1.1.1.1", "127.0.0.1", "::1")) == \
        ["Localhost DNS setting (--dns=127.0.0.1) may fail in containers."]
    assert netfiles.localhost_dns_warning(("1.1.1.1", "10.127.0.1")) == []
    # Docker's pattern is not anchored at the start (checked: 20.10 warns for 2001:db8::1)
    assert netfiles.localhost_dns_warning(("2001:db8::1",)) == \
        ["Localhost DNS setting (--dns=2001:db8::1) may fail in containers."]
    assert netfiles.localhost_dns_warning(("::ffff:127.0.0.1",)) != []
