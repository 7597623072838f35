"""The parts of a container's Config that come from flags over the image: labels, stop signal and
timeout, exposed ports, health check (pure; kept in the record as host_config["Config"])."""

from __future__ import annotations

from minidock.engine.request import RunRequest
from minidock.errors import UsageError
from minidock.oci.imageconfig import ContainerConfig

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from minidock.oci.runtimespec import Spec

LOG_DRIVERS = ("json-file", "local", "none")


def read_labels(req: RunRequest) -> dict[str, str]:
    """--label-file lines, then --label (later wins); a bare KEY means an empty value, as Docker's."""
    out: dict[str, str] = {}
    for path in req.label_files:
        try:
            text = open(path).read()  # noqa: SIM115 - small file
        except OSError as e:
            raise UsageError(f"label file {path}: {e.strerror}") from e
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                k, _, v = line.partition("=")
                out[k] = v
    for item in req.labels:
        k, _, v = item.partition("=")
        if not k:
            raise UsageError(f"invalid label {item!r}: want KEY=VALUE")
        out[k] = v
    return out


def exposed(image: ContainerConfig, req: RunRequest) -> tuple[str, ...]:
    """The image's ExposedPorts plus --expose (PORT[/PROTO] or a range START-END[/PROTO])."""
    ports = list(image.exposed_ports)
    for item in req.expose:
        port, _, proto = item.partition("/")
        start, _, end = port.partition("-")
        if not start.isdigit() or (end and not end.isdigit()) or (proto and proto not in ("tcp", "udp", "sctp")):
            raise UsageError(f"invalid range format for --expose: {item}")
        for n in range(int(start), int(end or start) + 1):
            if not 0 < n < 65536:
                raise UsageError(f"invalid containerPort: {n}")
            key = f"{n}/{proto or 'tcp'}"
            if key not in ports:
                ports.append(key)
    return tuple(ports)


def container_config(req: RunRequest, image: ContainerConfig) -> dict[str, Any]:
    """Labels, StopSignal, StopTimeout, Healthcheck and ExposedPorts as Docker's Config has them."""
    if req.log_driver not in LOG_DRIVERS:
        raise UsageError(f"unknown log driver {req.log_driver!r}: want {', '.join(LOG_DRIVERS)}")
    stop_signal = req.stop_signal or image.stop_signal or ""
    if stop_signal:
        from minidock.engine.lifecycle import parse_signal

        parse_signal(stop_signal)
    if req.stop_timeout is not None and req.stop_timeout < -1:
        raise UsageError(f"invalid --stop-timeout {req.stop_timeout}")
    health = _healthcheck(req, image)
    labels = {**dict(image.labels or {}), **read_labels(req)}
    out: dict[str, Any] = {"Labels": labels, "ExposedPorts": {p: {} for p in exposed(image, req)}}
    if stop_signal:
        out["StopSignal"] = stop_signal
    if req.stop_timeout is not None:
        out["StopTimeout"] = req.stop_timeout
    if health is not None:
        out["Healthcheck"] = health
    elif req.no_healthcheck:
        out["Healthcheck"] = {"Test": ["NONE"]}
    return out


def _healthcheck(req: RunRequest, image: ContainerConfig) -> dict[str, Any] | None:
    """The effective Healthcheck; health.py (its parser and checker) loads only when there is one."""
    flags = (req.health_cmd, req.health_interval, req.health_timeout, req.health_start_period, req.health_retries,
             req.no_healthcheck)
    if not (image.healthcheck or any(flags)):
        return None
    from minidock.engine.health import HealthFlags, effective

    return effective(image.healthcheck, HealthFlags(*flags))


def run_config(req: RunRequest, image: ContainerConfig, spec: Spec, hostname: str) -> dict[str, Any]:
    """The rest of Docker's container Config: what runs, as whom, where (what `commit` keeps)."""
    if req.entrypoint is not None:
        entrypoint: list[str] | None = [req.entrypoint] if req.entrypoint else None
        cmd: list[str] | None = list(req.args) or None
    else:
        entrypoint = list(image.entrypoint) if image.entrypoint is not None else None
        cmd = list(req.args) if req.args else (list(image.cmd) if image.cmd is not None else None)
    env = _config_env(req, image, spec.process.env)
    volumes = sorted({*image.volumes, *(v.split(":")[0] for v in req.volumes if ":" not in v)})
    return {"Hostname": hostname, "Domainname": req.domainname, "User": req.user or image.user,
            "Env": env, "Cmd": cmd, "Entrypoint": entrypoint,
            "WorkingDir": req.workdir or image.working_dir, "Image": req.image, "Tty": req.tty,
            "OpenStdin": req.interactive, "Volumes": {v: {} for v in volumes} or None}


def _config_env(req: RunRequest, image: ContainerConfig, runtime_env: tuple[str, ...]) -> list[str]:
    """Docker's Config.Env: the user's variables (-e, --env-file) in their order, then the image's
    that they do not override; never the runtime's own HOSTNAME and TERM."""
    from minidock.engine.spec import parse_env_file

    user_keys: list[str] = []
    for path in req.env_files:
        try:
            user_keys += [e.partition("=")[0] for e in parse_env_file(open(path).read(), path, {})]  # noqa: SIM115
        except OSError:
            pass
    user_keys += [e.partition("=")[0] for e in req.env]
    final = dict(e.partition("=")[::2] for e in runtime_env)
    seen: dict[str, None] = dict.fromkeys(k for k in user_keys if k in final)
    out = [f"{k}={final[k]}" for k in seen]
    return out + [e for e in image.env if e.partition("=")[0] not in seen]
