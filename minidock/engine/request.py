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
    cpuset_cpus: str = ""  # --cpuset-cpus 0-1,3
    cpuset_mems: str = ""
    cpu_quota: int = 0  # microseconds per --cpu-period (0: not given)
    cpu_period: int = 0
    cpu_rt_period: int = 0
    cpu_rt_runtime: int = 0
    memory_reservation: str = ""  # a size, as --memory takes it
    memory_swappiness: int = -1  # -1: not given (Docker's default)
    oom_kill_disable: bool = False
    oom_score_adj: int = 0
    blkio_weight: int = 0  # 10..1000 (0: not given)
    network: str = "bridge"
    pid: str = ""  # --pid host|container:NAME ("": a PID namespace of its own)
    ipc: str = ""  # --ipc private|shareable|none|host|container:NAME ("": private)
    uts: str = ""  # --uts host
    cgroupns: str = ""  # --cgroupns host|private ("": private)
    userns: str = ""  # --userns host
    group_add: tuple[str, ...] = ()  # --group-add GROUP (a name in the container's /etc/group, or a gid)
    publish: tuple[str, ...] = ()
    publish_all: bool = False
    add_hosts: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    domainname: str = ""
    cgroup_parent: str = ""
    device_cgroup_rules: tuple[str, ...] = ()  # --device-cgroup-rule 'c 1:3 rmw'
    blkio_weight_device: tuple[str, ...] = ()  # DEVICE:WEIGHT
    device_read_bps: tuple[str, ...] = ()  # DEVICE:RATE (a size per second)
    device_write_bps: tuple[str, ...] = ()
    device_read_iops: tuple[str, ...] = ()  # DEVICE:RATE (a number per second)
    device_write_iops: tuple[str, ...] = ()
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
    detach_keys: str = ""  # run: the key sequence that detaches the terminal ("": ctrl-p,ctrl-q)
    sig_proxy: bool = True  # run: signals the CLI gets go to the container
    disable_content_trust: bool = True  # accepted (no content trust here)
    runtime: str = ""  # runc (Docker's default) only
    isolation: str = ""  # "default" only (Linux)
    kernel_memory: str = ""  # checked as Docker does, then not applied (deprecated)
    storage_opt: tuple[str, ...] = ()  # Docker refuses size= without xfs pquota
    volume_driver: str = ""  # local only
    gpus: str = ""  # parsed as Docker's client does; no GPU driver here
    links: tuple[str, ...] = ()  # --link NAME[:ALIAS] (default bridge: a hosts line)
    ip: str = ""  # --ip: a static IPv4 address on a user network with a user-configured subnet
    network_aliases: tuple[str, ...] = ()  # --network-alias: more names peers on a user network resolve
    mac_address: str = ""  # --mac-address of eth0 ("": 02:42 + the address's four bytes)
