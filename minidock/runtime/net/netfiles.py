"""The network files a container sees: /etc/hosts, /etc/resolv.conf, /etc/hostname (pure text).

The engine writes the returned text into containers/<id>/{hosts,resolv.conf,hostname} and
bind-mounts them, as Docker does. `container_resolv` is Docker 20.10's resolv.conf for `run`: the
host's file (systemd-resolved's upstream file when the host names only its stub, `host_resolv`)
without loopback and IPv6 nameservers (they mean nothing in the container's network namespace),
Google's 8.8.8.8 / 8.8.4.4 when none is left; `--dns`, `--dns-search`, `--dns-option` rebuild it.
`resolv_conf` is the build's (BuildKit's) simpler rule.
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


def check_dns_server(text: str) -> str:
    """`--dns` as Docker's client takes it (ValidateIPAddress): an IP address, spaces trimmed, in its
    canonical form; ValueError in its words."""
    import ipaddress  # only for --dns

    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise ValueError(f"{text} is not an ip address") from None


_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def check_dns_search(text: str) -> str:
    """`--dns-search` as Docker's client takes it (ValidateDNSSearch): "." or a domain of letters,
    digits and inner hyphens, with some letter, under 255 characters; a final dot dropped."""
    text = text.strip(" ")
    if text == ".":
        return text
    domain = text.rstrip(" \t\n\r\f").removesuffix(".")
    labels = domain.split(".")
    if not (any(c.isascii() and c.isalpha() for c in text) and len(domain) < 255
            and all(w and _LABEL_CHARS.issuperset(w) and w[0] != "-" and w[-1] != "-" for w in labels)):
        raise ValueError(f"{text} is not a valid domain")
    return domain


def localhost_dns_warning(servers: tuple[str, ...]) -> list[str]:
    """Docker's client warning for the first loopback `--dns` server. Its test (dns.IsLocalhost) is a pattern
    not anchored at the start: any address that ends in `::1` (2001:db8::1 too) or holds 127.D.D.D."""
    return [f"Localhost DNS setting (--dns={s}) may fail in containers." for s in servers
            if _is_loopback(s) or s.endswith("::1") or _is_loopback(s.rpartition(":")[2])][:1]


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


def parse_resolv(text: str, docker: bool = False) -> tuple[list[str], list[str], list[str]]:
    """(nameservers, search domains, options) of a resolv.conf text; later search/domain lines win.

    `docker`: as libnetwork's GetNameservers/GetSearchDomains/GetOptions read it: `#` comments only,
    a nameserver line holds one address and nothing else, `domain` is no search line, the last
    options line wins."""
    servers: list[str] = []
    search: list[str] = []
    options: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0]
        fields = (line if docker else line.split(";", 1)[0]).split()
        if not fields:
            continue
        key, values = fields[0], fields[1:]
        if key == "nameserver" and values and not (docker and len(values) > 1):
            servers.append(values[0])
        elif key == "search" or (key == "domain" and not docker):
            search = values
        elif key == "options":
            options = values if docker else options + values
    return servers, search, options


NO_DNS_OPTIONS = DnsOptions()
SYSTEMD_RESOLV = "/run/systemd/resolve/resolv.conf"  # systemd-resolved's upstream servers
_HEX = frozenset("0123456789abcdefABCDEF:")


def host_resolv(path: str = "/etc/resolv.conf", upstream: str | None = None) -> str:
    """The host's resolv.conf text as Docker reads it ("" when unreadable): when it names systemd-resolved's
    stub 127.0.0.53 as its only nameserver, `upstream` instead (libnetwork resolvconf.Path; by default
    systemd-resolved's file, consulted only for the real /etc/resolv.conf)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return ""
    if upstream is None:
        upstream = SYSTEMD_RESOLV if path == "/etc/resolv.conf" else ""
    if upstream and parse_resolv(text, docker=True)[0] == ["127.0.0.53"]:
        try:
            with open(upstream, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            pass
    return text


def _is_ipv6(server: str) -> bool:
    """libnetwork's loose IPv6 pattern: 2 to 7 colons between hex groups, an optional %zone."""
    addr = server.partition("%")[0]
    return 2 <= addr.count(":") <= 7 and _HEX.issuperset(addr)


def _filtered(host_text: str) -> str:
    """libnetwork's FilterResolvDNS (IPv6 off): the host's text without its loopback and IPv6
    nameserver lines (and the blank lines after them); Google's servers appended when none is left."""
    out: list[str] = []
    dropping = False
    for line in host_text.splitlines(keepends=True):
        if dropping and not line.strip():
            continue
        fields = line.split(None, 2)
        dropping = (len(fields) >= 2 and fields[0] == "nameserver" and line[:10] == "nameserver"
                    and (_is_loopback(fields[1]) or _is_ipv6(fields[1])))
        if dropping:
            rest = fields[2].lstrip() if len(fields) == 3 else ""
            if rest:  # why: the pattern ends at the address; what follows on the line stays
                out.append(rest)
                dropping = False
            continue
        out.append(line)
    text = "".join(out)
    if not parse_resolv(text, docker=True)[0]:
        text += "\n" + "\n".join(f"nameserver {s}" for s in DEFAULT_DNS)
    return text


def container_resolv(host_text: str, dns: DnsOptions = NO_DNS_OPTIONS, host_network: bool = False) -> str:
    """A `run` container's /etc/resolv.conf as Docker 20.10 writes it (libnetwork sandbox setupDNS).

    No `--dns*` flag: the host's file, as it is for `--network host`, else filtered (`_filtered`).
    Any of them: a new file (resolvconf.Build): `search`, `nameserver`s, `options`, each from its flag
    or else the host's (its nameservers as listed, loopback ones too: Docker filters only the copy);
    `--dns-search .` writes no search line."""
    if not (dns.servers or dns.search or dns.options):
        return host_text if host_network else _filtered(host_text)
    servers, search, options = parse_resolv(host_text, docker=True)
    servers, search, options = (list(dns.servers) or servers, list(dns.search) or search,
                                list(dns.options) or options)
    lines = [f"search {' '.join(search)}"] if search and " ".join(search).strip(" ") != "." else []
    lines += [f"nameserver {s}" for s in servers]
    if " ".join(options).strip(" "):
        lines.append(f"options {' '.join(options)}")
    return "".join(f"{line}\n" for line in lines)


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
