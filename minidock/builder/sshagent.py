"""RUN --mount=type=ssh: an ssh-agent socket for one RUN container, as BuildKit forwards the client's.

`build --ssh ID[=SOCKET|KEY[,KEY...]]` names where agent ID comes from: an agent's socket (no path:
$SSH_AUTH_SOCK), or private key files, which an `ssh-agent` (openssh-client) started for that one RUN
serves. Either way the container sees a socket of its own (the mount's mode, uid and gid; BuildKit's
default 0600 root), and a relay thread in the builder passes each of its connections on to the agent:
the host's socket path and directory stay unseen, and nothing is left when the RUN ends (the relay
closed, the agent ended by PID, its directory removed; a killed build's directory is reclaimed as a
secret's is, see runmounts.SECRET_PREFIX).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import subprocess
import threading

from minidock.errors import BuildError, UsageError
from minidock.nouns import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

CHUNK = 1 << 16


class SshSource(NamedTuple):
    """One `--ssh` value: its id and either one agent socket or key files (absolute paths)."""

    id: str
    socket: str = ""
    keys: tuple[str, ...] = ()


def parse_ssh(spec: str, env: dict[str, str]) -> SshSource:
    """`default`, `ID`, `ID=SOCKET` or `ID=KEY[,KEY...]` as docker/cli and BuildKit's ssh provider read them."""
    ident, eq, rest = spec.partition("=")
    paths = [p for p in rest.split(",") if p] if eq else []
    if not ident:
        raise UsageError(f"could not parse ssh: [{spec}]: an id is required")
    if not paths:
        if not env.get("SSH_AUTH_SOCK"):
            raise UsageError(f"could not parse ssh: [{spec}]: invalid empty ssh agent socket, "
                             "make sure SSH_AUTH_SOCK is set")
        paths = [env["SSH_AUTH_SOCK"]]
    sockets: list[str] = []
    keys: list[str] = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError as e:
            raise UsageError(f"could not parse ssh: [{spec}]: stat {path}: {(e.strerror or '').lower()}") from e
        (sockets if stat.S_ISSOCK(st.st_mode) else keys).append(os.path.abspath(path))
    if sockets and (len(sockets) > 1 or keys):
        raise UsageError(f"could not parse ssh: [{spec}]: only single socket allowed")
    return SshSource(ident, sockets[0] if sockets else "", tuple(keys))


@contextlib.contextmanager
def agent_socket(source: SshSource, where: str, mode: int, uid: int, gid: int) -> Iterator[str]:
    """A socket at `where`/agent.sock (`mode`, `uid`, `gid`) relayed to `source`'s agent while the block runs."""
    with contextlib.ExitStack() as stack:
        upstream = source.socket or stack.enter_context(_key_agent(source, where))
        path = os.path.join(where, "agent.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stack.callback(listener.close)
        listener.bind(path)
        os.chmod(path, mode)
        os.chown(path, uid, gid)
        listener.listen(16)
        relay = _Relay(listener, upstream)
        stack.callback(relay.stop)
        relay.start()
        yield path


@contextlib.contextmanager
def _key_agent(source: SshSource, where: str) -> Iterator[str]:
    """An ssh-agent in the foreground holding `source`'s keys; its socket. Ended by PID afterwards."""
    agent_bin, add_bin = shutil.which("ssh-agent"), shutil.which("ssh-add")
    if agent_bin is None or add_bin is None:
        raise BuildError(f"ssh {source.id}: key files need ssh-agent and ssh-add (Debian: openssh-client)")
    path = os.path.join(where, "keys.sock")
    proc = subprocess.Popen([agent_bin, "-D", "-a", path], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        _wait_for(path, proc)
        env = {"SSH_AUTH_SOCK": path, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}  # no askpass, no tty
        r = subprocess.run([add_bin, "-q", *source.keys], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, check=False, start_new_session=True, timeout=30)
        if r.returncode != 0:
            why = (r.stderr.strip().splitlines() or ["ssh-add failed"])[-1]
            raise BuildError(f"ssh {source.id}: cannot load {', '.join(source.keys)}: {why}")
        yield path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for(path: str, proc: subprocess.Popen[bytes]) -> None:
    import time

    deadline = time.monotonic() + 5
    while not os.path.exists(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr and proc.poll() is not None else ""
            raise BuildError(f"ssh-agent did not start{': ' + err if err else ''}")
        time.sleep(0.005)


class _Relay:
    """Accepts the container's connections and pipes each to a new connection to the agent."""

    def __init__(self, listener: socket.socket, upstream: str) -> None:
        self.listener, self.upstream = listener, upstream
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept, name="minidock-ssh-relay", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        with self.lock:
            for c in self.conns:
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)
        self.thread.join(timeout=5)
        with self.lock:
            for c in self.conns:
                c.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # the listener was shut down: the RUN ended
            agent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                agent.connect(self.upstream)
            except OSError:
                client.close()
                agent.close()
                continue
            with self.lock:
                self.conns += [client, agent]
            for a, b in ((client, agent), (agent, client)):
                threading.Thread(target=_pipe, args=(a, b), name="minidock-ssh-pipe", daemon=True).start()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    """Copy until end of stream, then pass the end on (and close both once both directions ended)."""
    try:
        while data := src.recv(CHUNK):
            dst.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)
    with contextlib.suppress(OSError):
        src.shutdown(socket.SHUT_RD)
