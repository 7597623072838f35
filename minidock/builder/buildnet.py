"""The network of RUN steps: the build's `--network`, each step's `RUN --network`, and the bridge wiring.

As Docker (BuildKit) does, a RUN step joins the default bridge unless told otherwise: `--network`
on the build sets the default of every step (`default`/`bridge`, `none`, `host` or a user network
NAME) and `RUN --network=default|none|host` overrides it for one step. `NetTarget` is what the
engine resolved the build's value to (the builder never reads network configs itself).

Lifecycle of a bridge step (one container, one lease): `BridgeLease(target)` -> `.attach(pid)`
(the runtime's on_namespaces hook: the bridge up with its gateway address and NAT, then a veth
and an address for the container) -> `.release()` after the container ended (veth and lease; the
bridge keeps its gateway, which other stores' containers may use). Leases are host-wide, kept with
`run`'s in runtime/net/hostbridge's per-bridge directory, under the same lock. A lease is named
`<12 hex>.build-p<PID>.<start time>`, so when a build is killed (SIGKILL: the container and its
netns die with it, the kernel deletes the veth) the next build's `reclaim()` finds the lease of
the dead owner and releases it, and the address with it. The step's hosts, resolv.conf and
hostname are bound from scratch files and never reach a layer. `reclaim_cgroups()` likewise removes
the RUN cgroups (`minidock/<snapshot key>`, owner in the name) of killed builds.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from minidock.errors import BuildError, MinidockError
from minidock.nouns import NamedTuple
from minidock.store.atomic import BUILD_PREFIX

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidock.store.check import Problem

MODES = ("default", "none", "host")  # what `RUN --network=` accepts (BuildKit's set)


class NetTarget(NamedTuple):
    """A network a RUN container joins: `kind` none | host | bridge (then which network, bridge, subnet)."""

    kind: str
    network: str = ""
    bridge: str = ""
    subnet: str = ""
    state_dir: str = "."  # the store's networks dir ("." when none, as pathlib's empty path was)

    @property
    def label(self) -> str:
        """How messages and cache keys name it: none, host, default (the bridge) or the network's name."""
        if self.kind != "bridge":
            return self.kind
        return "default" if self.network == "bridge" else self.network


NONE = NetTarget("none")
HOST = NetTarget("host")


def step_target(build_default: NetTarget, step_mode: str) -> NetTarget:
    """The network of one RUN: its `--network=` value (`default`/empty: the build's network)."""
    if step_mode in ("", "default"):
        return build_default
    if step_mode == "none":
        return NONE
    if step_mode == "host":
        return HOST
    raise BuildError(f"invalid RUN --network={step_mode}: want default, none or host")


def lease_id() -> str:
    """A RUN container's id on a network: 12 random hex (the veth's name) and its owning process."""
    from minidock.store.atomic import me

    return f"{os.urandom(6).hex()}.build-{me()}"


def _wire_lock(target: NetTarget) -> contextlib.AbstractContextManager[None]:
    """The same host-wide per-bridge lock `run` takes when it wires or unwires (engine/netwire.py)."""
    from minidock.runtime.net import hostbridge

    return hostbridge.wire_lock(target.bridge)


class BridgeLease:
    """One RUN container's place on a bridge network; see the module docstring for the lifecycle."""

    __slots__ = ("attachment", "id", "target")

    def __init__(self, target: NetTarget) -> None:
        self.target, self.id = target, lease_id()
        self.attachment: object | None = None

    def attach(self, pid: int) -> None:
        """The runtime hook: bridge, gateway address and NAT in place, then a veth into `pid`'s netns."""
        from minidock.runtime.net import hostbridge, ipam, nat, network

        t = self.target
        with _wire_lock(t):
            # why: the bridge's subnet is host-wide (another store may have chosen it)
            subnet, index = hostbridge.ensure(t.bridge, t.subnet, (lambda: t.subnet) if t.network == "bridge" else None)
            nat.setup_network(t.bridge, subnet, index)
            req = network.NetworkAttachRequest(t.network, t.bridge, subnet, self.id, ipam.HOST_DIR,
                                               lease_key=t.bridge, owner=os.path.abspath(Path(t.state_dir).parent))
            self.attachment = network.attach(pid, req)

    def release(self) -> None:
        """Undo `attach` (idempotent; also when attach failed half-way)."""
        _release(self.target, self.id)


def _release(target: NetTarget, lease: str) -> None:
    """Veth and lease (the bridge keeps its gateway address: see runtime/net/hostbridge)."""
    from minidock.runtime.net import ipam, network

    with _wire_lock(target):
        network.delete_veth(network.host_veth_name(lease))
        if ipam.release_left(ipam.HOST_DIR, target.bridge, lease) is None:
            ipam.release(Path(target.state_dir), target.network, lease)  # a lease an older minidock kept in the store


def reclaim(target: NetTarget) -> list[str]:
    """Release the leases that killed builds left on `target`'s network (their owners are gone).

    Every build calls it first; when no build holds a lease it costs one small file read."""
    if target.kind != "bridge":
        return []
    from minidock.runtime.net import ipam

    try:
        with open(f"{ipam.HOST_DIR}/{target.bridge}/{ipam.LEASES}", "rb") as f:
            if b".build-" not in f.read():
                return []
    except OSError:
        return []
    from minidock.store.leftovers import alive, owner_of

    dead = []
    for lease in ipam.leases(ipam.HOST_DIR, target.bridge):
        owner = owner_of(lease) if ".build-" in lease else None
        if owner is not None and not alive(owner):
            dead.append(lease)
    for lease in dead:
        _release(target, lease)
    return dead


def reclaim_cgroups(root: Path = Path("/sys/fs/cgroup")) -> list[str]:
    """Remove the RUN cgroups (`minidock/build-*`) that killed builds left; their names. One listing per
    hierarchy when there are none (every build calls it first)."""
    names: set[str] = set()
    for top in (root, *(root / c for c in _listdir(root))):
        names.update(n for n in _listdir(top / "minidock") if n.startswith(BUILD_PREFIX))
    if not names:
        return []
    from minidock.runtime import cgroups
    from minidock.store.leftovers import alive, owner_of

    dead = [n for n in sorted(names) if (o := owner_of(n)) is not None and not alive(o)]
    for name in dead:
        with contextlib.suppress(MinidockError, OSError):
            cgroups.detect(str(root)).open(f"minidock/{name}").remove()
    return dead


def _listdir(path: Path) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def dead_build_problems(owner: str) -> list[Problem]:
    """For `system check`: the leases this store's killed builds still hold (owner: the store root; what the
    next build would reclaim). Their RUN cgroups name no store, so they are not this store's to report:
    `repair_dead_build` removes every dead build's cgroup along with the lease."""
    from minidock.runtime.net import ipam
    from minidock.store.check import Problem
    from minidock.store.leftovers import alive, owner_of

    out = []
    for bridge in ipam.networks_with_leases(ipam.HOST_DIR):
        for lease, (ip, lease_owner) in ipam.owned(ipam.HOST_DIR, bridge).items():
            o = owner_of(lease) if ".build-" in lease and lease_owner == owner else None
            if o is not None and not alive(o):
                out.append(Problem("build-lease", f"{bridge}/{lease}",
                                   f"address lease {ip} on {bridge}: a killed build's RUN step", True))
    return out


def repair_dead_build(target: str, cgroup_root: Path = Path("/sys/fs/cgroup")) -> None:
    """Release one `dead_build_problems` finding: its veth and lease, and the cgroups of dead builds."""
    from minidock.runtime.net import hostbridge, ipam, network

    bridge, _, lease = target.partition("/")
    with hostbridge.wire_lock(bridge):
        network.delete_veth(network.host_veth_name(lease))
        ipam.release_left(ipam.HOST_DIR, bridge, lease)
    reclaim_cgroups(cgroup_root)


def reclaim_dead_builds(owner: str) -> int:
    """`builder prune` (and other prunes): release every lease this store's killed builds hold, with
    their veths and the dead builds' cgroups; how many."""
    found = dead_build_problems(owner)
    for p in found:
        with contextlib.suppress(MinidockError, OSError):
            repair_dead_build(p.target)
    return len(found)
