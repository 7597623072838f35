"""`update`: change a container's limits (memory, swap, CPUs, shares, pids, cpuset, CFS quota and
period, reservation, block I/O weight, real-time period and runtime) and restart policy.

Docker's rules: only the flags given change; a running container's cgroup is written at once and
its stored spec (config.json) keeps the new limits for later starts; a memory limit above the
current memory+swap limit needs --memory-swap too; a restart policy cannot be set on an
`--rm` container. The monitor reads the restart policy from the record when its container exits,
so a new policy applies to a running container's next exit. As with Docker, the real-time period
and runtime are recorded for the next start, not written to a running container's cgroup, and the
flags Docker's daemon checks are checked as engine/resources.py does for `run` (update=True).
"""

from __future__ import annotations

from typing import Any

from minidock.engine.lifecycle import ACTIVE, open_records, spec_of
from minidock.engine.restart import RestartPolicy
from minidock.errors import ConflictError, UsageError
from minidock.nouns import NamedTuple
from minidock.oci.runtimespec import Resources
from minidock.store.atomic import atomic_write_json
from minidock.store.containers import ContainerStore
from minidock.store.ctrrecord import ContainerRecord
from minidock.store.store import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidock.engine.resources import Limits


class UpdateRequest(NamedTuple):
    """The flags of `update` as typed ("" = not given)."""

    memory: str = ""
    memory_swap: str = ""
    cpus: str = ""
    cpu_shares: int = 0
    pids_limit: int = 0
    restart: str = ""
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    cpu_quota: int = 0
    cpu_period: int = 0
    memory_reservation: str = ""
    blkio_weight: int = 0
    cpu_rt_period: int = 0
    cpu_rt_runtime: int = 0


def limits_of(req: UpdateRequest) -> Limits:
    """The flags Docker's daemon checks, as its HostConfig holds them (pure)."""
    from minidock.engine.resources import Limits, size
    from minidock.runtime.cgroups import parse_cpus

    return Limits(memory=max(size(req.memory), 0), nano_cpus=parse_cpus(req.cpus)[0] * 10_000 if req.cpus else 0,
                  cpu_quota=req.cpu_quota, cpu_period=req.cpu_period, cpuset_cpus=req.cpuset_cpus,
                  cpuset_mems=req.cpuset_mems, memory_reservation=size(req.memory_reservation),
                  blkio_weight=req.blkio_weight, cpu_rt_period=req.cpu_rt_period, cpu_rt_runtime=req.cpu_rt_runtime)


def settled(req: UpdateRequest) -> tuple[Limits, list[str]]:
    """Those limits as this host takes them, and Docker's warnings (the host is asked only when needed)."""
    from minidock.engine.resources import Limits, check_nano_cpus, host_support, settle

    limits = limits_of(req)
    if limits == Limits(memory=limits.memory, nano_cpus=limits.nano_cpus):
        check_nano_cpus(limits.nano_cpus)
        return limits, []
    return settle(limits, host_support(), update=True)


def changes(req: UpdateRequest, limits: Limits | None = None) -> dict[str, Any]:
    """The Resources fields the flags set (pure); `limits`: those of them settled for this host."""
    from minidock.runtime.cgroups import parse_bytes, parse_cpus

    out: dict[str, Any] = {}
    if req.memory:
        out["memory_limit"] = parse_bytes(req.memory)
    if req.memory_swap:
        out["memory_swap"] = parse_bytes(req.memory_swap)
    if req.cpus:
        out["cpu_quota"], out["cpu_period"] = parse_cpus(req.cpus)
    if req.cpu_shares:
        out["cpu_shares"] = req.cpu_shares
    if req.pids_limit:
        out["pids_limit"] = req.pids_limit
    lim = limits or limits_of(req)
    for field in ("cpuset_cpus", "cpuset_mems", "cpu_quota", "cpu_period", "memory_reservation", "blkio_weight",
                  "cpu_rt_period", "cpu_rt_runtime"):
        if value := getattr(lim, field):
            out[field] = value
    return out


def merged(old: Resources, change: dict[str, Any]) -> Resources:
    """`old` with `change` applied, checked the way Docker checks an update."""
    new = old._replace(**change)
    memory, swap = new.memory_limit, new.memory_swap
    if "memory_limit" in change and "memory_swap" not in change and swap not in (None, -1) and memory is not None \
            and memory > (swap or 0):
        raise UsageError("memory limit should be smaller than already set memoryswap limit, update the "
                         "memoryswap at the same time")
    if memory is not None and swap not in (None, -1) and swap is not None and swap < memory:
        raise UsageError("minimum memoryswap limit should be larger than memory limit, see usage")
    return new


def update(refs: list[str], req: UpdateRequest, store: Store | None = None) -> list[str]:
    """Apply `req` to every container named; Docker's output: the names as given, then its warnings
    (each container's)."""
    policy = RestartPolicy.parse(req.restart) if req.restart else None
    if not changes(req) and policy is None:
        raise UsageError("you must provide one or more flags when using this command")
    limits, notes = settled(req)
    _, records = open_records(store)
    for ref in refs:
        _update_one(records, records.get(ref), req, policy, limits)
    return [*refs, *(notes * len(refs))]


def _cpu_conflicts(rec: ContainerRecord, limits: Limits) -> None:
    """Docker's rule: --cpus and --cpu-period/--cpu-quota never both, across updates too."""
    hc = rec.host_config
    for given, have, what in ((limits.nano_cpus, hc.get("CpuPeriod"), "Nano CPUs cannot be updated as CPU Period"),
                              (limits.nano_cpus, hc.get("CpuQuota"), "Nano CPUs cannot be updated as CPU Quota"),
                              (limits.cpu_period, hc.get("Cpus"), "CPU Period cannot be updated as NanoCPUs"),
                              (limits.cpu_quota, hc.get("Cpus"), "CPU Quota cannot be updated as NanoCPUs")):
        if given and given > 0 and have and (not isinstance(have, int) or have > 0):
            raise ConflictError(f"Cannot update container {rec.id}: Conflicting options: {what} has already been set")


def _update_one(records: ContainerStore, rec: ContainerRecord, req: UpdateRequest,
                policy: RestartPolicy | None, limits: Limits) -> None:
    change = changes(req, limits)
    _cpu_conflicts(rec, limits)
    hc = dict(rec.host_config)
    if policy is not None:
        if hc.get("AutoRemove") and policy.name != "no":
            raise ConflictError("restart policy cannot be updated because AutoRemove is enabled for the container")
        hc["RestartPolicy"] = policy.to_json()
    if change:
        spec = spec_of(records, rec.id)
        resources = merged(spec.linux.resources, change)
        if rec.status in ACTIVE:
            _write_cgroup(spec.linux.cgroups_path or f"minidock/{rec.id}", _live(change, resources))
        spec = spec._replace(linux=spec.linux._replace(resources=resources))
        atomic_write_json(f"{records.dir(rec.id)}/config.json", spec.to_json(), durable=False)
        hc.update(_shown(req), **{k: v for k, v in limits.host_config().items() if v and k != "OomScoreAdj"})
    records.update(rec.id, host_config=hc)


def _live(change: dict[str, Any], merged: Resources) -> Resources:
    """What a running container's cgroup gets: the change without the real-time limits (Docker leaves
    them to the next start), with quota and period both when either changes (v2 writes them together)."""
    live = {k: v for k, v in change.items() if k not in ("cpu_rt_period", "cpu_rt_runtime")}
    if "cpu_quota" in live or "cpu_period" in live:
        live.update(cpu_quota=merged.cpu_quota, cpu_period=merged.cpu_period)
    return Resources()._replace(**live)


def _write_cgroup(path: str, resources: Resources) -> None:
    from minidock.engine.host import CGROUP_ROOT
    from minidock.runtime import cgroups

    cgroups.detect(CGROUP_ROOT).update(path, resources)


def _shown(req: UpdateRequest) -> dict[str, object]:
    """The record's HostConfig fields for the flags given (as `run` records them: as typed)."""
    fields = (("Memory", req.memory), ("MemorySwap", req.memory_swap), ("Cpus", req.cpus),
              ("CpuShares", req.cpu_shares), ("PidsLimit", req.pids_limit))
    return {k: v for k, v in fields if v}
