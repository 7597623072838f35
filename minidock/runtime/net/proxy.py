"""The userland proxy (Docker's docker-proxy idea): HOST_IP:HOST_PORT -> container ip:port.

It holds the published host port and serves what DNAT does not: IPv6 host addresses (and any
traffic that reaches the listening socket; IPv4, 127.0.0.1 included, is DNATed in the kernel).
One thread per published port runs a `selectors` loop over the listening socket, a wake-up
socketpair and every forwarded connection; sockets are non-blocking with a bounded buffer per
direction, half-closes are forwarded (shutdown(SHUT_WR)). UDP keeps one connected upstream socket
per client address. Lifecycle: `start_proxy(mapping, ip)` binds and starts the thread (so a taken
port fails at once), `close()` stops it and closes every socket; it can run in the detached
container's monitor process.
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import threading
from collections.abc import Callable

from minidock.runtime.net.portmap import PortMapping, bind_socket

BUF = 1 << 18  # why 256 KiB: fewer trips through the selector loop per MiB forwarded
Handler = Callable[[int], None]


class _Conn:
    """One forwarded TCP connection: client <-> upstream, a pending buffer per direction."""

    def __init__(self, loop: Proxy, client: socket.socket, upstream: socket.socket) -> None:
        self.loop = loop
        self.socks = (client, upstream)
        self.pending = {client: bytearray(), upstream: bytearray()}  # bytes waiting to be sent TO the socket
        self.eof = {client: False, upstream: False}  # the socket sent EOF (nothing more to read)
        self.shut: set[socket.socket] = set()  # sockets we already shut down for writing
        self.handlers = {s: self._on_event(s) for s in self.socks}
        self.connected = False
        self.closed = False
        loop.conns.add(self)
        self._update()

    def _peer(self, s: socket.socket) -> socket.socket:
        return self.socks[1] if s is self.socks[0] else self.socks[0]

    def _on_event(self, s: socket.socket) -> Handler:
        def handle(mask: int) -> None:
            try:
                if mask & selectors.EVENT_WRITE:
                    self._writable(s)
                if mask & selectors.EVENT_READ:
                    self._readable(s)
                self._update()
            except OSError:
                self.close()
        return handle

    def _writable(self, s: socket.socket) -> None:
        if s is self.socks[1] and not self.connected:
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise OSError(err, "connect to container failed")
            self.connected = True
        buf = self.pending[s]
        if buf:
            del buf[: s.send(buf)]

    def _readable(self, s: socket.socket) -> None:
        data = s.recv(BUF)
        if data:
            self.pending[self._peer(s)] += data
        else:
            self.eof[s] = True

    def _update(self) -> None:
        if all(self.eof.values()) and not any(self.pending.values()):
            self.close()
            return
        for s in self.socks:
            peer = self._peer(s)
            if self.connected and self.eof[peer] and not self.pending[s] and s not in self.shut:
                self.shut.add(s)
                s.shutdown(socket.SHUT_WR)  # forward the half-close
            mask = 0
            if not self.eof[s] and len(self.pending[peer]) < BUF and (self.connected or s is self.socks[0]):
                mask |= selectors.EVENT_READ
            if self.pending[s] or (s is self.socks[1] and not self.connected):
                mask |= selectors.EVENT_WRITE
            self.loop.watch(s, mask, self.handlers[s])

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.loop.conns.discard(self)
        for s in self.socks:
            self.loop.watch(s, 0, self.handlers[s])
            s.close()


class Proxy:
    """A running proxy for one published port; `close()` stops it."""

    def __init__(self, mapping: PortMapping, container_ip: str) -> None:
        self.mapping = mapping
        self.target = (container_ip, mapping.container_port)
        self.sel = selectors.DefaultSelector()
        self.conns: set[_Conn] = set()
        self.listener = bind_socket(mapping)
        self.listener.setblocking(False)
        self.address: tuple[str, int] = self.listener.getsockname()[:2]
        self._wake_r, self._wake_w = socket.socketpair()
        self._closed = False
        self._udp_peers: dict[tuple[str, int], socket.socket] = {}
        self.sel.register(self._wake_r, selectors.EVENT_READ, lambda _m: None)
        on_listen = self._accept if mapping.proto == "tcp" else self._udp_in
        self.sel.register(self.listener, selectors.EVENT_READ, on_listen)
        self._thread = threading.Thread(target=self._run, name=f"proxy {mapping}", daemon=True)
        self._thread.start()

    def watch(self, s: socket.socket, mask: int, handler: Handler) -> None:
        """Wait for `mask` events on `s` (0 = stop watching it for now)."""
        try:
            key: selectors.SelectorKey | None = self.sel.get_key(s)
        except KeyError:
            key = None
        if not mask:
            if key is not None:
                self.sel.unregister(s)
        elif key is None:
            self.sel.register(s, mask, handler)
        elif key.events != mask:
            self.sel.modify(s, mask, handler)

    def _run(self) -> None:
        while not self._closed:
            for key, mask in self.sel.select():
                if self._closed:
                    break
                key.data(mask)
        for conn in list(self.conns):
            conn.close()
        for s in (*self._udp_peers.values(), self.listener, self._wake_r):
            with contextlib.suppress(OSError):
                s.close()
        self.sel.close()

    def _accept(self, _mask: int) -> None:
        try:
            client, _addr = self.listener.accept()
        except OSError:
            return
        client.setblocking(False)
        upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        upstream.setblocking(False)
        code = upstream.connect_ex(self.target)
        if code not in (0, errno.EINPROGRESS):
            client.close()
            upstream.close()
            return
        _Conn(self, client, upstream)

    def _udp_in(self, _mask: int) -> None:
        try:
            data, addr = self.listener.recvfrom(BUF)
        except OSError:
            return
        up = self._udp_peers.get(addr)
        if up is None:
            up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            up.setblocking(False)
            up.connect(self.target)
            self._udp_peers[addr] = up
            self.sel.register(up, selectors.EVENT_READ, self._udp_back(up, addr))
        with contextlib.suppress(OSError):
            up.send(data)

    def _udp_back(self, up: socket.socket, addr: tuple[str, int]) -> Handler:
        def handle(_mask: int) -> None:
            with contextlib.suppress(OSError):
                self.listener.sendto(up.recv(BUF), addr)
        return handle

    def close(self) -> None:
        """Stop the loop and close the listener and every forwarded connection."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        self._thread.join(timeout=5)
        self._wake_w.close()


def start_proxy(mapping: PortMapping, container_ip: str) -> Proxy:
    """Listen on the mapping's host side and forward to `container_ip:container_port`; running on return."""
    return Proxy(mapping, container_ip)
