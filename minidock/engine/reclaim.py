"""What a dead supervisor owned, taken back by the next command (containerd's way: work owned by a
dead PID is reclaimed).

A container is supervised by the process that started it: the CLI of a foreground `run`, or the
monitor of `run -d`/`start`. Killed by SIGKILL, it runs no cleanup: the container dies with it
(its init has a parent-death signal), but its record says running and its cgroups, address lease,
veth and port rules stay. The store records such a container as exited once it notices (store/
containers.py: `reclaim` set); then `reclaim_pending` does what the supervisor would have done:
kills whatever is left in the cgroups and removes them, releases the network, and removes the
container when it was `--rm`. Commands that take the containers lock call it (create, and every
command that opens the records through lifecycle.open_records); `system check` reports what is
still waiting, with what it is, and `--repair` reclaims it.
"""

import contextlib
import os

from minidock.errors import MinidockError
from minidock.store.check import Problem
from minidock.store.containers import ContainerStore
from minidock.store.ctrrecord import ContainerRecord
from minidock.store.store import Store


def reclaim_pending(store: Store, records: ContainerStore, ids: list[str] | None = None) -> list[str]:
    """Reclaim the leftovers of every orphaned container (or of `ids`, found by `create`); their ids."""
    if ids is None:
        pending = [r for r in records.list() if r.reclaim]
        with contextlib.suppress(MinidockError, OSError):
            release_stale_leases(store)
    else:
        pending = [r for r in (records.find(i) for i in ids) if r is not None and r.reclaim]
    for rec in pending:
        reclaim(store, records, rec)
    return [r.id for r in pending]


def reclaim(store: Store, records: ContainerStore, rec: ContainerRecord) -> None:
    """Cgroups, network, and (for --rm) the container itself; idempotent, so racing commands may
    both get here."""
    from minidock.engine.lifecycle import kill_leftovers

    kill_leftovers(records, rec)
    with contextlib.suppress(MinidockError, OSError):
        from minidock.engine import netwire

        netwire.release(store.paths, rec.id, rec.network)
        _release_unrecorded(rec.id)
    if rec.host_config.get("AutoRemove") or rec.creating:  # --rm, or a creation that never completed
        from minidock.engine.containers import remove_files

        remove_files(store, rec.id, volumes=True)
        return
    with contextlib.suppress(MinidockError):
        records.update(rec.id, reclaim=False)


def _release_unrecorded(cid: str) -> None:
    """What a supervisor killed between wiring and recording the attachment held: a lease, port rules."""
    from minidock.runtime.net import ipam, nat

    for bridge in ipam.networks_with_leases(ipam.HOST_DIR):
        ipam.release(ipam.HOST_DIR, bridge, cid)
    if os.path.exists(f"{nat.RUN_DIR}/ports-{cid}"):
        nat.remove_rules(cid)


def leftovers_of(rec: ContainerRecord, records: ContainerStore) -> list[str]:
    """What an orphaned container still holds, in words (for `system check`)."""
    from pathlib import Path

    from minidock.engine.lifecycle import cgroup_of
    from minidock.runtime.net import ipam, nat, network

    out: list[str] = []
    with contextlib.suppress(MinidockError, OSError):
        groups = [p for p in cgroup_of(records, rec.id).paths().values() if Path(p).is_dir()]
        if groups:
            out.append(f"{len(groups)} cgroups")
    bridge = str(rec.network.get("bridge") or "")
    if bridge:
        with contextlib.suppress(MinidockError, OSError):
            lease = ipam.leases(ipam.HOST_DIR, bridge).get(rec.id)
            if lease:
                out.append(f"address lease {lease} on {bridge}")
        veth = network.host_veth_name(rec.id)
        if Path(f"/sys/class/net/{veth}").exists():
            out.append(f"veth {veth}")
    if os.path.exists(f"{nat.RUN_DIR}/ports-{rec.id}"):
        out.append("published-port rules")
    if rec.creating:
        out.append("the half-created container")
    elif rec.host_config.get("AutoRemove"):
        out.append("the container itself (--rm)")
    return out


def problems(store: Store) -> list[Problem]:
    """Orphaned containers still holding something, and leases this store holds for containers it
    no longer has (a RUN step's lease is builder/buildnet's to reclaim): each with what is left."""
    records = ContainerStore(store.paths)
    out = []
    for rec in records.list():
        if rec.reclaim:
            what = ", ".join(leftovers_of(rec, records)) or "its record's reclaim mark"
            out.append(Problem("container-orphaned", rec.id,
                               f"container {rec.id[:12]}: its supervisor died; left: {what}", True))
    import os

    from minidock.builder.buildnet import dead_build_problems  # killed builds' leases

    return out + _stale_leases(store) + dead_build_problems(os.path.abspath(store.paths.root))


def _stale_leases(store: Store) -> list[Problem]:
    """This store's leases nobody will release (another store's are that store's to report; those
    of a deleted store are released silently by the next command of any store)."""
    import os

    from minidock.runtime.net import ipam

    me = os.path.abspath(store.paths.root)
    out = []
    for bridge in ipam.networks_with_leases(ipam.HOST_DIR):
        for cid, (ip, owner) in ipam.owned(ipam.HOST_DIR, bridge).items():
            if owner == me and lease_gone(store, cid, owner):
                out.append(Problem("lease-stale", f"{bridge}/{cid}",
                                   f"address lease {ip} on {bridge}: container {cid[:12]} no longer exists", True))
    return out


def lease_gone(store: Store, cid: str, owner: str) -> bool:
    """A host-wide lease nobody can release any more: this store's, for a container it no longer has,
    or any store's whose whole store is gone (a deleted MINIDOCK_ROOT). A RUN step's lease (`.build-`)
    is builder/buildnet's to judge; a lease without an owner (an older minidock's) is left alone."""
    import os

    if not owner or ".build-" in cid:
        return False
    if owner == os.path.abspath(store.paths.root):
        return not os.path.exists(f"{store.paths.container(cid)}/state.json")
    return not os.path.isdir(os.path.join(owner, "containers"))


def release_stale_leases(store: Store) -> None:
    """Release what `lease_gone` finds (under each bridge's lease lock)."""
    from minidock.runtime.net import ipam

    for bridge in ipam.networks_with_leases(ipam.HOST_DIR):
        ipam.reclaim(ipam.HOST_DIR, bridge, lambda cid, owner: not lease_gone(store, cid, owner))


def repair(store: Store, p: Problem) -> None:
    """Fix one of `problems`' findings."""
    from minidock.runtime.net import ipam

    records = ContainerStore(store.paths)
    if p.kind == "container-orphaned":
        rec = records.find(p.target)
        if rec is not None:
            reclaim(store, records, rec)
    elif p.kind == "build-lease":
        from minidock.builder.buildnet import repair_dead_build

        repair_dead_build(p.target)
    elif p.kind == "lease-stale":
        bridge, _, cid = p.target.partition("/")
        ipam.release(ipam.HOST_DIR, bridge, cid)
