"""A small rtnetlink client (stdlib only): links, addresses and routes, in any network namespace.

Why not pyroute2: `import pyroute2` costs ~0.5 s (it imports asyncio, multiprocessing, ndb, ...)
on the latency-critical `run` path, against ~1 ms for this module; the handful of messages a
container network needs (RTM_NEWLINK for bridge/veth/up/master/rename, RTM_NEWADDR, RTM_NEWROUTE,
RTM_DELLINK, link and route dumps) fit here. Tests check the results with pyroute2 independently.

Lifecycle: `Netlink()` opens a NETLINK_ROUTE socket in the caller's network namespace;
`Netlink.in_netns(pid)` opens one in the namespace of `pid` (a short-lived thread does setns, so
the calling thread never changes namespace). A socket stays bound to its namespace; close() it.
Every failure is an OSError carrying the kernel's errno (callers turn it into RuntimeSetupError).

Start-up cost matters here too (the bridge path of `run`): the socket is `_socket`'s (the `socket`
module adds nothing a raw netlink socket needs and costs ~6 ms to import), the namespace thread is a
`_thread` one, `ipaddress` is only imported by `routes()` (host subnets: a new network's choice);
the default route's interface (`default_oifs`, for the MTU of every veth) needs none.
"""

from __future__ import annotations

import _socket
import _thread
import ctypes
import errno
import os
import struct

from minidock.nouns import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ipaddress import IPv4Address, IPv4Interface, IPv4Network
    from types import TracebackType

NETLINK_ROUTE = 0
CLONE_NEWNET = 0x40000000
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_NEWROUTE, RTM_GETROUTE = 20, 24, 26
RTM_DELADDR = 21
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLM_F_EXCL, NLM_F_CREATE = 0x200, 0x400
NLMSG_ERROR, NLMSG_DONE = 2, 3
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_LINKINFO, IFLA_NET_NS_PID = 1, 3, 4, 10, 18, 19
IFLA_INFO_KIND, IFLA_INFO_DATA, VETH_INFO_PEER = 1, 2, 1
IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST = 1, 2, 4
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_TABLE = 1, 4, 5, 15
RT_TABLE_MAIN, RTPROT_BOOT, RTN_UNICAST = 254, 3, 1
IFF_UP = 0x1
IFNAMSIZ = 16
IFINFO = struct.Struct("=BxHiII")  # family, type, index, flags, change
IFADDR = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
RTMSG = struct.Struct("=BBBBBBBBI")  # family, dst_len, src_len, tos, table, protocol, scope, type, flags
NLHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
RTATTR = struct.Struct("=HH")


def _align(n: int) -> int:
    return (n + 3) & ~3


def attr(kind: int, data: bytes) -> bytes:
    """One rtattr (type, payload), padded to 4 bytes."""
    raw = RTATTR.pack(RTATTR.size + len(data), kind) + data
    return raw + b"\0" * (_align(len(raw)) - len(raw))


def attr_str(kind: int, text: str) -> bytes:
    return attr(kind, text.encode() + b"\0")


def attr_u32(kind: int, value: int) -> bytes:
    return attr(kind, struct.pack("=I", value))


def parse_attrs(data: bytes) -> dict[int, bytes]:
    """rtattr type -> payload of a run of attributes (the last one wins on repeats)."""
    out: dict[int, bytes] = {}
    off = 0
    while off + RTATTR.size <= len(data):
        length, kind = RTATTR.unpack_from(data, off)
        if length < RTATTR.size:
            break
        out[kind & 0x3FFF] = data[off + RTATTR.size: off + length]  # drop NLA_F_NESTED / NET_BYTEORDER
        off += _align(length)
    return out


def mac_for(ip: IPv4Address | str) -> str:
    """Docker's deterministic container MAC: 02:42 followed by the four bytes of the IPv4 address."""
    packed = _socket.inet_aton(ip) if isinstance(ip, str) else ip.packed
    return "02:42:" + ":".join(f"{b:02x}" for b in packed)


def mac_attr(mac: str) -> bytes:
    """IFLA_ADDRESS for `aa:bb:cc:dd:ee:ff` (set_link/add_bridge: a fixed hardware address)."""
    return attr(IFLA_ADDRESS, bytes.fromhex(mac.replace(":", "")))


def _parse_link(body: bytes) -> Link:
    _fam, _typ, index, flags, _ch = IFINFO.unpack_from(body)
    a = parse_attrs(body[IFINFO.size:])
    kind = parse_attrs(a.get(IFLA_LINKINFO, b"")).get(IFLA_INFO_KIND, b"").rstrip(b"\0").decode()
    link = Link(index, a.get(IFLA_IFNAME, b"").rstrip(b"\0").decode(),
                struct.unpack("=I", a[IFLA_MTU])[0] if IFLA_MTU in a else 0,
                struct.unpack("=I", a[IFLA_MASTER])[0] if IFLA_MASTER in a else 0,
                bool(flags & IFF_UP), kind)
    link.mac = ":".join(f"{b:02x}" for b in a.get(IFLA_ADDRESS, b""))
    return link


_LIBC: list[ctypes.CDLL] = []


def _setns(fd: int) -> int:
    if not _LIBC:
        _LIBC.append(ctypes.CDLL(None, use_errno=True))
    return int(_LIBC[0].setns(fd, CLONE_NEWNET))


class Link:
    """A network interface as a link dump shows it (a slots class: a tuple's `index` would clash)."""

    __slots__ = ("index", "kind", "mac", "master", "mtu", "name", "up")

    def __init__(self, index: int, name: str, mtu: int, master: int, up: bool, kind: str = "") -> None:  # noqa: PLR0917
        self.index = index
        self.name = name
        self.mtu = mtu
        self.master = master
        self.up = up
        self.kind = kind
        self.mac = ""  # the hardware address, aa:bb:..., as the dump showed it

    def __repr__(self) -> str:
        return (f"Link(index={self.index}, name={self.name!r}, mtu={self.mtu}, master={self.master}, "
                f"up={self.up}, kind={self.kind!r})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Link) and all(getattr(self, f) == getattr(other, f) for f in Link.__slots__)

    def __hash__(self) -> int:
        return hash((self.index, self.name, self.mtu, self.master, self.up, self.kind))


class VethSpec(NamedTuple):
    """A veth pair: `name` here (enslaved to `master` when set, up when `up`), `peer` born (down) in
    the netns of `peer_pid` with `peer_mac`: the kernel refuses IFF_UP on a peer at birth (ENOTCONN)."""

    name: str
    peer: str
    peer_pid: int
    mtu: int
    peer_mac: str
    master: int = 0
    up: bool = False


class Route(NamedTuple):
    """An IPv4 route of the main table."""

    dst: IPv4Network
    oif: int
    gateway: IPv4Address | None


class Netlink:
    """A NETLINK_ROUTE socket with the requests minidock needs; use as a context manager."""

    def __init__(self) -> None:
        self.sock = _socket.socket(_socket.AF_NETLINK, _socket.SOCK_RAW | _socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0

    @classmethod
    def in_netns(cls, pid: int) -> Netlink:
        """A socket inside the network namespace of `pid` (/proc/PID/ns/net)."""
        box: list[Netlink | BaseException] = []

        def opener() -> None:  # setns only changes this short-lived thread's namespace
            try:
                fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
                try:
                    if _setns(fd) != 0:
                        err = ctypes.get_errno()
                        raise OSError(err, f"setns /proc/{pid}/ns/net: {os.strerror(err)}")
                finally:
                    os.close(fd)
                box.append(cls())
            except BaseException as e:  # noqa: BLE001 - handed to the calling thread
                box.append(e)

        done = _thread.allocate_lock()
        done.acquire()

        def run() -> None:
            try:
                opener()
            finally:
                done.release()

        _thread.start_new_thread(run, ())
        done.acquire()  # why: the opener has put its result (or its error) in `box`
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Netlink:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # ---- transport ----
    def request(self, kind: int, flags: int, payload: bytes) -> list[tuple[int, bytes]]:
        """Send one message and collect the replies (type, body) up to the ACK or DONE."""
        self.seq += 1
        flags |= NLM_F_REQUEST | (0 if flags & NLM_F_DUMP == NLM_F_DUMP else NLM_F_ACK)
        self.sock.send(NLHDR.pack(NLHDR.size + len(payload), kind, flags, self.seq, 0) + payload)
        replies: list[tuple[int, bytes]] = []
        while True:
            data = self.sock.recv(1 << 16)
            off = 0
            while off + NLHDR.size <= len(data):
                length, mtype, _fl, seq, _pid = NLHDR.unpack_from(data, off)
                body = data[off + NLHDR.size: off + length]
                off += _align(length)
                if seq != self.seq:
                    continue
                if mtype == NLMSG_DONE:
                    return replies
                if mtype == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", body)[0]
                    if code:
                        raise OSError(code, os.strerror(code))
                    return replies
                replies.append((mtype, body))

    # ---- links ----
    def links(self) -> list[Link]:
        """Every interface of this namespace."""
        dump = self.request(RTM_GETLINK, NLM_F_DUMP, IFINFO.pack(_socket.AF_UNSPEC, 0, 0, 0, 0))
        return [_parse_link(body) for _t, body in dump]

    def link(self, name: str) -> Link | None:
        """The interface called `name`, or None (one RTM_GETLINK by name, not a dump of every link)."""
        if not name or len(name.encode()) >= IFNAMSIZ:
            return None  # no interface can have that name (the kernel would say EINVAL)
        try:
            body = IFINFO.pack(_socket.AF_UNSPEC, 0, 0, 0, 0) + attr_str(IFLA_IFNAME, name)
            replies = self.request(RTM_GETLINK, 0, body)
        except OSError as e:
            if e.errno == errno.ENODEV:
                return None
            raise
        return _parse_link(replies[0][1]) if replies else None

    def set_link(self, index: int, *attrs: bytes, up: bool | None = None) -> None:
        """Change a link: any IFLA_* attributes (name, mtu, master) and the UP flag."""
        change = IFF_UP if up is not None else 0
        flags = IFF_UP if up else 0
        self.request(RTM_NEWLINK, 0, IFINFO.pack(_socket.AF_UNSPEC, 0, index, flags, change) + b"".join(attrs))

    def add_bridge(self, name: str, mtu: int | None, mac: str = "") -> None:
        """Create bridge `name` (EEXIST when it exists), with hardware address `mac` when given."""
        extra = attr_u32(IFLA_MTU, mtu) if mtu else b""
        if mac:
            extra += mac_attr(mac)
        info = attr(IFLA_LINKINFO, attr_str(IFLA_INFO_KIND, "bridge"))
        body = IFINFO.pack(_socket.AF_UNSPEC, 0, 0, 0, 0) + attr_str(IFLA_IFNAME, name) + extra + info
        self.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body)

    def add_veth(self, name: str, peer: str, peer_pid: int, mtu: int, peer_mac: str) -> None:
        """Create veth `name` here with its peer `peer` created directly in the netns of `peer_pid`."""
        self.create_veth(VethSpec(name, peer, peer_pid, mtu, peer_mac))

    def create_veth(self, v: VethSpec) -> None:
        """One RTM_NEWLINK: the pair, the peer in its netns, master and up state set at birth."""
        flags = IFF_UP if v.up else 0
        peer_msg = (IFINFO.pack(_socket.AF_UNSPEC, 0, 0, 0, 0) + attr_str(IFLA_IFNAME, v.peer)
                    + attr_u32(IFLA_MTU, v.mtu) + attr(IFLA_ADDRESS, bytes.fromhex(v.peer_mac.replace(":", "")))
                    + attr_u32(IFLA_NET_NS_PID, v.peer_pid))
        info = attr(IFLA_LINKINFO, attr_str(IFLA_INFO_KIND, "veth")
                    + attr(IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer_msg)))
        master = attr_u32(IFLA_MASTER, v.master) if v.master else b""
        body = (IFINFO.pack(_socket.AF_UNSPEC, 0, 0, flags, flags) + attr_str(IFLA_IFNAME, v.name)
                + attr_u32(IFLA_MTU, v.mtu) + master + info)
        self.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body)

    def delete_link(self, index: int) -> None:
        self.request(RTM_DELLINK, 0, IFINFO.pack(_socket.AF_UNSPEC, 0, index, 0, 0))

    # ---- addresses and routes ----
    def add_address(self, index: int, iface: IPv4Interface) -> None:
        """Add an IPv4 address with its prefix; an address already there is fine."""
        self.add_ipv4(index, str(iface.ip), iface.network.prefixlen)

    def add_ipv4(self, index: int, ip: str, prefixlen: int) -> None:
        """Add address `ip/prefixlen` (broadcast derived) to link `index`; already there is fine."""
        packed = _socket.inet_aton(ip)
        host_mask = (1 << (32 - prefixlen)) - 1
        bcast = (int.from_bytes(packed, "big") | host_mask).to_bytes(4, "big")
        body = (IFADDR.pack(_socket.AF_INET, prefixlen, 0, 0, index)
                + attr(IFA_LOCAL, packed) + attr(IFA_ADDRESS, packed) + attr(IFA_BROADCAST, bcast))
        try:
            self.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body)
        except OSError as e:
            if e.errno != errno.EEXIST:
                raise

    def delete_address(self, index: int, iface: IPv4Interface) -> bool:
        """Remove an IPv4 address (with its prefix) from link `index`; False when it was not there."""
        body = (IFADDR.pack(_socket.AF_INET, iface.network.prefixlen, 0, 0, index)
                + attr(IFA_LOCAL, iface.ip.packed) + attr(IFA_ADDRESS, iface.ip.packed))
        try:
            self.request(RTM_DELADDR, 0, body)
        except OSError as e:
            if e.errno in (errno.EADDRNOTAVAIL, errno.ENODEV):
                return False
            raise
        return True

    def add_default_route(self, gateway: IPv4Address | str, oif: int) -> None:
        """`ip route add default via GATEWAY dev OIF` in the main table."""
        gw = _socket.inet_aton(gateway) if isinstance(gateway, str) else gateway.packed
        body = (RTMSG.pack(_socket.AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, 0, RTN_UNICAST, 0)
                + attr(RTA_GATEWAY, gw) + attr_u32(RTA_OIF, oif))
        self.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, body)

    def _main_routes(self) -> list[tuple[int, dict[int, bytes]]]:
        """(destination prefix length, attributes) of each IPv4 unicast route of the main table."""
        out = []
        for _t, body in self.request(RTM_GETROUTE, NLM_F_DUMP, RTMSG.pack(_socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0)):
            _f, dst_len, _s, _tos, table, _p, _sc, rtype, _fl = RTMSG.unpack_from(body)
            a = parse_attrs(body[RTMSG.size:])
            if RTA_TABLE in a:
                table = struct.unpack("=I", a[RTA_TABLE])[0]
            if table == RT_TABLE_MAIN and rtype == RTN_UNICAST:
                out.append((dst_len, a))
        return out

    def routes(self) -> list[Route]:
        """The IPv4 routes of the main table."""
        from ipaddress import IPv4Address, IPv4Network  # lazy: only host subnets (choosing a network's)

        out = []
        for dst_len, a in self._main_routes():
            dst = IPv4Address(a[RTA_DST]) if RTA_DST in a else IPv4Address(0)
            gw = IPv4Address(a[RTA_GATEWAY]) if RTA_GATEWAY in a else None
            out.append(Route(IPv4Network(f"{dst}/{dst_len}"), _oif(a), gw))
        return out

    def default_oifs(self) -> list[int]:
        """The output interfaces of the main table's default routes, in dump order (no ipaddress)."""
        return [_oif(a) for dst_len, a in self._main_routes() if dst_len == 0]


def _oif(a: dict[int, bytes]) -> int:
    return int(struct.unpack("=I", a[RTA_OIF])[0]) if RTA_OIF in a else 0
