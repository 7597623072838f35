"""`update`: change a container's limits (memory, swap, CPUs, shares, pids) and restart policy.

Docker's rules: only the flags given change; a running container's cgroup is written at once and
its stored spec (config.json) keeps the new limits for later starts; a memory limit above the
current memory+swap limit needs --memory-swap too; a restart policy cannot be set on an
`--rm` container. The monitor reads the restart policy from the record when its container exits,
so a new policy applies to a running container's next exit.
"""

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


class UpdateRequest(NamedTuple):
    """The flags of `update` as typed ("" = not given)."""

    memory: str = ""
    memory_swap: str = ""
    cpus: str = ""
    cpu_shares: int = 0
    pids_limit: int = 0
    restart: str = ""


def changes(req: UpdateRequest) -> dict[str, Any]:
    """The Resources fields the flags set (pure)."""
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
    """Apply `req` to every container named; the names as given (Docker's output)."""
    change = changes(req)
    policy = RestartPolicy.parse(req.restart) if req.restart else None
    if not change and policy is None:
        raise UsageError("you must provide one or more flags when using this command")
    _, records = open_records(store)
    for ref in refs:
        _update_one(records, records.get(ref), req, policy)
    return refs


def _update_one(records: ContainerStore, rec: ContainerRecord, req: UpdateRequest,
                policy: RestartPolicy | None) -> None:
    change = changes(req)
    hc = dict(rec.host_config)
    if policy is not None:
        if hc.get("AutoRemove") and policy.name != "no":
            raise ConflictError("restart policy cannot be updated because AutoRemove is enabled for the container")
        hc["RestartPolicy"] = policy.to_json()
    if change:
        spec = spec_of(records, rec.id)
        resources = merged(spec.linux.resources, change)
        if rec.status in ACTIVE:
            _write_cgroup(spec.linux.cgroups_path or f"minidock/{rec.id}", Resources()._replace(**change))
        spec = spec._replace(linux=spec.linux._replace(resources=resources))
        atomic_write_json(f"{records.dir(rec.id)}/config.json", spec.to_json(), durable=False)
        hc.update(_shown(req))
    records.update(rec.id, host_config=hc)


def _write_cgroup(path: str, resources: Resources) -> None:
    from minidock.engine.host import CGROUP_ROOT
    from minidock.runtime import cgroups

    cgroups.detect(CGROUP_ROOT).update(path, resources)


def _shown(req: UpdateRequest) -> dict[str, object]:
    """The record's HostConfig fields for the flags given (as `run` records them: as typed)."""
    fields = (("Memory", req.memory), ("MemorySwap", req.memory_swap), ("Cpus", req.cpus),
              ("CpuShares", req.cpu_shares), ("PidsLimit", req.pids_limit))
    return {k: v for k, v in fields if v}
