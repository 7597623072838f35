"""RunRequest: everything `run`/`create` was asked for, as the CLI parsed it (strings, not yet checked)."""

from __future__ import annotations

from minidock.nouns import NamedTuple


class RunRequest(NamedTuple):
    """The flags of `minidock run`/`create`, named as Docker names them."""

    image: str
    args: tuple[str, ...] = ()
    name: str = ""
    detach: bool = False
    rm: bool = False
    interactive: bool = False
    tty: bool = False
    explain: bool = False
    quiet: bool = False
    platform: str = ""
    pull: str = "missing"
    entrypoint: str | None = None
    env: tuple[str, ...] = ()
    env_files: tuple[str, ...] = ()
    workdir: str = ""
    user: str = ""
    hostname: str = ""
    read_only: bool = False
    volumes: tuple[str, ...] = ()
    mounts: tuple[str, ...] = ()
    volumes_from: tuple[str, ...] = ()
    tmpfs: tuple[str, ...] = ()
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    devices: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    memory: str = ""
    memory_swap: str = ""
    cpus: str = ""
    cpu_shares: int = 0
    pids_limit: int = 0
    network: str = "bridge"
    publish: tuple[str, ...] = ()
    publish_all: bool = False
    add_hosts: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    init: bool = False
    restart: str = "no"
    log_opts: tuple[str, ...] = ()
    cidfile: str = ""
    labels: tuple[str, ...] = ()
    label_files: tuple[str, ...] = ()
    stop_signal: str = ""
    stop_timeout: int | None = None
    expose: tuple[str, ...] = ()
    log_driver: str = "json-file"
    health_cmd: str = ""
    health_interval: str = ""
    health_timeout: str = ""
    health_start_period: str = ""
    health_retries: int = 0
    no_healthcheck: bool = False
    ulimits: tuple[str, ...] = ()
    shm_size: str = ""
    sysctls: tuple[str, ...] = ()
    attach: tuple[str, ...] = ()
