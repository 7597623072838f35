"""The RUN step: argv, environment, network, mounts, cache key, and the container that makes the layer.

`run(s, state, inst)` records one RUN through `record_step`. Its key covers the command, the
visible ARGs (through history text), the network mode, the user and each `--mount`'s key text
(see runmounts). When the cache misses, a container runs on a new active snapshot with
/etc/hosts and /etc/resolv.conf bound from a scratch directory (never written into the layer),
then the mount points the runtime had to create for /proc, /dev, /sys and the network files are
removed from the upper (stubs) and the layer is committed; of the `--mount` points only the files
go, as Docker 20.10 (BuildKit 0.8) does. The step's network (see buildnet): `RUN --network=default`
(or none given) is the build's `--network` (the default bridge unless told otherwise), `none` only
loopback, `host` the host's. A failing step whose output shows the network unreachable or DNS failing says so.
"""

from __future__ import annotations

import os

from minidock.builder import heredoc
from minidock.builder.buildnet import NetTarget, step_target
from minidock.builder.events import StepOutput
from minidock.builder.instructions import Run
from minidock.builder.session import Session, record_step, view_of
from minidock.builder.state import PROXY_ARGS, StageState
from minidock.errors import BuildError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    from minidock.builder.layer import Layer, RunRequest
    from minidock.builder.runmounts import Planned
    from minidock.oci.runtimespec import Mount


class RunFailedError(BuildError):
    """A RUN command exited non-zero; `code` is its exit status, `network` the step's network, `net_failed`
    whether its output looks like the network was unreachable or DNS failed."""

    def __init__(self, code: int, network: str = "", net_failed: bool = False) -> None:
        super().__init__(f"exit code {code}")
        self.code, self.network, self.net_failed = code, network, net_failed


# What resolvers, apt, curl, wget, pip and the kernel print when a name or a network cannot be reached.
_NET_FAILURES = (b"Temporary failure resolving", b"Temporary failure in name resolution", b"Could not resolve",
                 b"Name or service not known", b"nodename nor servname", b"bad address", b"Network is unreachable",
                 b"No route to host", b"Failed to establish a new connection", b"getaddrinfo failed",
                 b"unable to resolve host", b"no such host", b"Connection timed out")
_TAIL = 1 << 16


def looks_like_network_failure(tail: bytes) -> bool:
    """Whether a failed command's last output names an unreachable network or a failed name lookup."""
    return any(m in tail for m in _NET_FAILURES)


def run_argv(state: StageState, inst: Run) -> tuple[str, ...]:
    """The argv of a RUN: exec form as written; shell form (with heredoc bodies) through SHELL."""
    if inst.json:
        return inst.cmd
    text = " ".join(inst.cmd)
    docs = inst.heredocs
    if len(docs) == 1 and heredoc.parse_marker(text.strip()) is not None:
        return (*state.shell, docs[0].content)  # `RUN <<EOF`: the body is the script
    text += "".join(f"\n{d.content}{d.name}" for d in docs)
    return (*state.shell, text)


def host_resolv_text(path: Path) -> str:
    """The host's resolv.conf; systemd-resolved's upstream file when the host's names only its local stub
    (Docker's choice: 127.0.0.53 means nothing in another network namespace): netfiles.host_resolv."""
    from minidock.runtime.net.netfiles import host_resolv

    return host_resolv(os.fspath(path))


def network_files(scratch: Path, network: str, host_resolv: Path, add_hosts: tuple[str, ...] = ()
                  ) -> tuple[Mount, ...]:
    """/etc/hosts and /etc/resolv.conf for a RUN container, written in `scratch` and bound read-only (as BuildKit).

    hosts: loopback names, `--add-host` entries, the sandbox's name on 127.0.0.1 (as BuildKit). resolv.conf:
    `host`: the host's as it is; else the host's resolvers minus loopback ones (8.8.8.8/8.8.4.4 when
    none is left), as Docker does."""
    from minidock.builder.layer import HOSTNAME  # lazy: only a RUN that misses the cache runs a container
    from minidock.oci.runtimespec import Mount  # lazy: as above
    from minidock.runtime.net.netfiles import hosts_file, parse_add_host, resolv_conf  # lazy: as above

    text = host_resolv_text(host_resolv)
    resolv = text if network == "host" and text else resolv_conf(text)
    extra = tuple(parse_add_host(h) for h in add_hosts)
    (scratch / "hosts").write_text(hosts_file(HOSTNAME, "127.0.0.1", (), extra))
    (scratch / "resolv.conf").write_text(resolv)
    return (Mount("/etc/hosts", "bind", str(scratch / "hosts"), ("rbind", "ro")),  # why ro: BuildKit's are
            Mount("/etc/resolv.conf", "bind", str(scratch / "resolv.conf"), ("rbind", "ro")))


def run(s: Session, state: StageState, inst: Run) -> bool:
    """Run (or reuse) one RUN step; True when the cache provided it."""
    argv = run_argv(state, inst)
    args = state.visible_args()
    prefix = f"|{len(args)} " + " ".join(f"{k}={v}" for k, v in args) + " " if args else ""
    created_by = f"RUN {prefix}{' '.join(argv)} # buildkit"
    target = step_target(s.network, inst.network)
    proxies = [f"{k}={v}" for k, v in s.build_args.items() if k in PROXY_ARGS and k not in state.args]
    env = (*state.run_env(), *proxies)
    cwd, user = state.cc.working_dir or "/", state.cc.user
    plans = _plan(s, state, inst)
    agents = [p.target for p in plans if p.kind == "ssh"]
    if agents and not any(e.startswith("SSH_AUTH_SOCK=") for e in env):
        env = (*env, f"SSH_AUTH_SOCK={agents[0]}")  # BuildKit's: set even when the agent was not given

    def make() -> Layer:
        from minidock.builder.layer import RunRequest  # lazy: only a cache miss runs a container

        if s.run_platform_error:
            raise BuildError(s.run_platform_error)
        req = RunRequest(args=argv, env=env, cwd=cwd, user=user, network=target.kind)
        return _make(s, state, req, plans, target)
    parts = ["RUN", created_by, target.label, state.cc.user, *(p.key for p in plans)]
    return record_step(s, state, parts, created_by, make)


def _plan(s: Session, state: StageState, inst: Run) -> list[Planned]:
    """The RUN's `--mount`s resolved (see runmounts.plan); none without `--mount` flags."""
    if not inst.mounts:
        return []
    from minidock.builder import runmounts  # lazy: only RUN --mount needs mount planning

    return runmounts.plan(s, state, inst)


def _make(s: Session, state: StageState, req: RunRequest, plans: list[Planned], target: NetTarget) -> Layer:
    """Run the container on a new snapshot; the layer is its upper without mount stubs."""
    # lazy: a fully cached build never runs a container, so none of this is imported then
    import shutil
    from pathlib import Path

    from minidock.builder import runmounts
    from minidock.builder.layer import commit_layer, discard, new_layer
    from minidock.builder.stubs import find_stubs, remove_file_stubs, remove_stubs
    from minidock.oci.runtimespec import default_mounts
    from minidock.store.atomic import make_dir

    scratch = Path(make_dir(s.store.paths.tmp, "runmounts-"))  # owned: a killed build's scratch is reclaimed
    key = new_layer(s.store, state.chain)
    try:
        view = view_of(s.store, state.chain)
        with runmounts.materialize(plans, scratch) as mounts:
            files = network_files(scratch, req.network, s.resolv_conf, s.add_hosts)
            stubs = find_stubs(view, [m.destination for m in (*default_mounts(), *files)])
            targets = [view.canonical(m.destination) for m in mounts]
            mount_stubs = find_stubs(view, targets)  # why apart: Docker 20.10 keeps some of these (stubs.py)
            code, tail = _contained(s, key, req._replace(mounts=(*files, *mounts)), target)
        if code != 0:
            raise RunFailedError(code, target.label, looks_like_network_failure(tail))
        remove_stubs(s.store.snapshots.upper(key), view, stubs)
        remove_file_stubs(s.store.snapshots.upper(key), mount_stubs, targets)
        return commit_layer(s.store, key, state.chain, s.epoch)
    except BaseException:
        discard(s.store, key)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _contained(s: Session, key: str, req: RunRequest, target: NetTarget) -> tuple[int, bytes]:
    """Run the step's container (on a bridge: with its lease, released when it ends); (exit code, output tail)."""
    from minidock.builder.layer import run_in

    number, tail = s.number, bytearray()

    def output(data: bytes) -> None:
        tail.extend(data)
        del tail[:-_TAIL]
        s.progress(StepOutput(number, data))
    if target.kind != "bridge":
        return run_in(s.store, key, req, output), bytes(tail)
    from minidock.builder import buildnet

    lease = buildnet.BridgeLease(target)
    try:
        return run_in(s.store, key, req, output, lease.attach), bytes(tail)
    finally:
        lease.release()
