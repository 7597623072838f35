"""The network files a container sees: /etc/hosts, /etc/resolv.conf, /etc/hostname (pure text).

The engine writes the returned text into containers/<id>/{hosts,resolv.conf,hostname} and
bind-mounts them, as Docker does. resolv.conf follows Docker's default-bridge rule: the host's
file is copied, loopback nameservers (127.x, ::1, e.g. systemd-resolved's 127.0.0.53) are dropped
because they mean nothing inside the container's own network namespace, and when none are left
Google's 8.8.8.8 / 8.8.4.4 are used. `--dns` replaces the nameservers; `--dns-search` and
`--dns-option` replace the search and options lines (else the host's are kept).
"""

from __future__ import annotations

from minidock.errors import UsageError
from minidock.nouns import NamedTuple

DEFAULT_DNS: tuple[str, ...] = ("8.8.8.8", "8.8.4.4")
HOSTS_HEADER = """127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
"""


class ExtraHost(NamedTuple):
    """One `--add-host name:ip` entry."""

    name: str
    ip: str


class DnsOptions(NamedTuple):
    """`--dns`, `--dns-search`, `--dns-option`: each replaces the host's lines when given."""

    servers: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


def parse_add_host(spec: str) -> ExtraHost:
    """`name:ip` (Docker also accepts `name=ip`; the ip may be IPv6, so split at the first separator)."""
    sep = "=" if "=" in spec else ":"
    name, _, ip = spec.partition(sep)
    ip = ip.strip("[]")
    if not name or not ip:
        raise UsageError(f"invalid add-host {spec}: expected name:ip")
    try:
        import ipaddress  # only for --add-host

        ipaddress.ip_address(ip)
    except ValueError as e:
        raise UsageError(f"invalid add-host {spec}: {ip} is not an IP address") from e
    return ExtraHost(name, ip)


def hostname_file(hostname: str) -> str:
    """/etc/hostname: the hostname and a newline."""
    return f"{hostname}\n"


def hosts_file(hostname: str, ip: str | None = None, aliases: tuple[str, ...] = (),
               extra: tuple[ExtraHost, ...] = ()) -> str:
    """/etc/hosts: loopback and IPv6 names, `--add-host` entries, then `ip hostname aliases...`.

    `ip` is None for `--network none`/`host`-less cases: then the hostname maps to nothing (Docker
    does the same for `none`).
    """
    lines = [HOSTS_HEADER.rstrip("\n")]
    lines += [f"{h.ip}\t{h.name}" for h in extra]
    if ip:
        names = [hostname, *[a for a in aliases if a and a != hostname]]
        lines.append(f"{ip}\t{' '.join(names)}")
    return "\n".join(lines) + "\n"


def _is_loopback(server: str) -> bool:
    """Docker's test (libnetwork resolvconf, dns.IPLocalhost): `127.D.D.D` (1-3 digits each) or `::1`.
    Text, as Docker does it, not ipaddress (whose import, with functools, costs every `run` ~1.5 ms)."""
    parts = server.split(".")
    return server == "::1" or (len(parts) == 4 and parts[0] == "127"
                               and all(0 < len(p) <= 3 and p.isascii() and p.isdigit() for p in parts))


def parse_resolv(text: str) -> tuple[list[str], list[str], list[str]]:
    """(nameservers, search domains, options) of a resolv.conf text; later search/domain lines win."""
    servers: list[str] = []
    search: list[str] = []
    options: list[str] = []
    for raw in text.splitlines():
        fields = raw.split("#", 1)[0].split(";", 1)[0].split()
        if not fields:
            continue
        key, values = fields[0], fields[1:]
        if key == "nameserver" and values:
            servers.append(values[0])
        elif key in ("search", "domain"):
            search = values
        elif key == "options":
            options += values
    return servers, search, options


NO_DNS_OPTIONS = DnsOptions()


def resolv_conf(host_text: str, dns: DnsOptions = NO_DNS_OPTIONS) -> str:
    """The container's /etc/resolv.conf from the host's text and the `--dns*` flags."""
    servers, search, options = parse_resolv(host_text)
    kept = [s for s in servers if not _is_loopback(s)] or list(DEFAULT_DNS)
    servers = list(dns.servers) or kept
    if dns.search:
        search = [] if dns.search == (".",) else list(dns.search)
    if dns.options:
        options = list(dns.options)
    lines = [f"nameserver {s}" for s in servers]
    if search:
        lines.append("search " + " ".join(search))
    if options:
        lines.append("options " + " ".join(options))
    return "\n".join(lines) + "\n"
