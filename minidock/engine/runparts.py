"""What `run` and `create` derive from a request before the runtime sees it: cgroup resources, the
spec's flags, -v/--mount parsed and planned, a kept seccomp profile, Docker's HostConfig, --init.

Each is pure or touches only the container's own directory; engine/containers.py composes them.
"""

from __future__ import annotations

import os

from minidock.engine.devices import parse_device
from minidock.engine.request import RunRequest
from minidock.engine.spec import RunFlags
from minidock.errors import InvalidParameterError, UsageError
from minidock.oci.runtimespec import Resources, Spec
from minidock.store.containers import ContainerStore
from minidock.store.store import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidock.engine.volumes import MountPlan, MountSpec


def resources_of(req: RunRequest) -> Resources:
    """The resource flags -> cgroup resources (Docker's rules; engine/resources.py for its daemon's checks)."""
    from minidock.engine.resources import settled
    from minidock.runtime.cgroups import parse_bytes, parse_cpus

    memory = parse_bytes(req.memory) if req.memory else None
    swap = parse_bytes(req.memory_swap) if req.memory_swap else None
    if swap is not None and memory is None and swap != -1:
        raise UsageError("--memory-swap needs --memory as well")
    if memory is not None and swap is None:
        swap = 2 * memory  # Docker: with --memory alone, as much swap again as memory
    quota = period = None
    if req.cpus:
        quota, period = parse_cpus(req.cpus)
    return settled(req)[0].onto(Resources(memory_limit=memory, memory_swap=swap, cpu_shares=req.cpu_shares or None,
                                          cpu_quota=quota, cpu_period=period, pids_limit=req.pids_limit or None))


def run_flags(req: RunRequest, hostname: str = "", network: str = "none") -> RunFlags:
    if req.workdir and not req.workdir.startswith("/"):  # Docker's check, before the image is looked up
        raise InvalidParameterError(f"the working directory '{req.workdir}' is invalid, it needs to be an "
                                    "absolute path")
    return RunFlags(args=req.args, entrypoint=req.entrypoint, env=req.env, env_files=req.env_files,
                    workdir=req.workdir, user=req.user, hostname=hostname or req.hostname, tty=req.tty,
                    read_only=req.read_only, tmpfs=req.tmpfs, cap_add=req.cap_add,
                    cap_drop=req.cap_drop, resources=resources_of(req), network=network,
                    privileged=req.privileged, devices=req.devices, security_opt=req.security_opt,
                    ulimits=req.ulimits, shm_size=req.shm_size, sysctls=req.sysctls, oom_score_adj=req.oom_score_adj,
                    domainname=req.domainname, cgroup_parent=req.cgroup_parent,
                    device_cgroup_rules=req.device_cgroup_rules)


def volume_specs(req: RunRequest) -> list[MountSpec]:
    """-v and --mount, parsed (Docker's order: -v first)."""
    if not (req.volumes or req.mounts):
        return []
    from minidock.engine.volumes import parse_mount, parse_v

    return [*(parse_v(v) for v in req.volumes), *(parse_mount(m) for m in req.mounts)]


def plan_mounts(store: Store, specs: list[MountSpec], image_volumes: tuple[str, ...],
                volumes_from: tuple[str, ...]) -> MountPlan | None:
    """The container's volumes, binds and tmpfs mounts; None when it has none (volumes.py not loaded)."""
    if not (specs or image_volumes or volumes_from):
        return None
    from minidock.engine.volumes import plan

    return plan(store, specs, image_volumes, volumes_from)


def keep_profile(store: Store, cid: str, spec: Spec) -> Spec:
    """`--security-opt seccomp=FILE`: the profile as it is now is kept with the container (Docker
    reads it at create too) and compiled once here, so a bad one fails `create`, not each start."""
    from minidock.runtime import seccomp

    if spec.linux.seccomp in (seccomp.DEFAULT, seccomp.UNCONFINED):
        return spec
    data = seccomp.read_profile(spec.linux.seccomp)
    kept = f"{ContainerStore(store.paths).dir(cid)}/seccomp.json"
    fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    seccomp.program(kept, spec.process.capabilities.bounding, store.paths.seccomp_cache, where=spec.linux.seccomp)
    return spec._replace(linux=spec.linux._replace(seccomp=kept))


def host_config_of(req: RunRequest) -> dict[str, object]:
    """Docker's HostConfig for the record (restart policy and log options are checked here)."""
    from minidock.engine.logopts import LogOptions
    from minidock.engine.resources import host_fields
    from minidock.engine.restart import RestartPolicy

    restart = RestartPolicy.parse(req.restart)
    if req.rm and restart.name != "no":
        raise UsageError("conflicting options: cannot specify both --restart and --rm")
    log = LogOptions.parse(req.log_opts)
    return {"AutoRemove": req.rm, "NetworkMode": req.network or "bridge", "Binds": list(req.volumes),
            "Mounts": list(req.mounts), "VolumesFrom": list(req.volumes_from),
            "Memory": req.memory, "Cpus": req.cpus, "PidsLimit": req.pids_limit, "Privileged": req.privileged,
            "ReadonlyRootfs": req.read_only, "CapAdd": list(req.cap_add), "CapDrop": list(req.cap_drop),
            "Devices": [dict(zip(("PathOnHost", "PathInContainer", "CgroupPermissions"), parse_device(d),
                                 strict=True)) for d in req.devices],
            "SecurityOpt": list(req.security_opt),
            "Dns": list(req.dns), "DnsSearch": list(req.dns_search), "DnsOptions": list(req.dns_options),
            "RestartPolicy": restart.to_json(), "Init": req.init, "PortBindings": list(req.publish),
            "Tty": req.tty, "OpenStdin": req.interactive,
            "LogConfig": {"Type": req.log_driver, "Config": log.to_json()}, **host_fields(req),
            **({"Gpus": req.gpus} if req.gpus else {})}


INIT_PATH = "/usr/bin/tini-static"  # Debian's tini (package `tini`): static, so it runs in any image
INIT_TARGET = "/sbin/docker-init"


def with_init(spec: Spec) -> Spec:
    """`--init`: tini bind-mounted read-only at /sbin/docker-init and made PID 1 (`-- cmd...`)."""

    from minidock.oci.runtimespec import Mount

    if not os.path.isfile(INIT_PATH):
        raise UsageError(f"--init: {INIT_PATH} not found (install the Debian package tini)")
    mount = Mount(destination=INIT_TARGET, type="bind", source=INIT_PATH, options=("rbind", "ro", "rprivate"))
    process = spec.process._replace(args=(INIT_TARGET, "--", *spec.process.args))
    return spec._replace(process=process, mounts=(*spec.mounts, mount))
