"""ImageConfig + run flags -> runtime Spec: Docker's rules for command, env, user, mounts, caps (pure)."""

from __future__ import annotations

import os
from types import MappingProxyType

from minidock.engine.devices import device_config
from minidock.engine.limits import sysctls, ulimits, with_shm_size
from minidock.errors import UsageError
from minidock.nouns import NamedTuple
from minidock.oci.imageconfig import ContainerConfig
from minidock.oci.runtimespec import (
    DEFAULT_CAPS,
    Capabilities,
    Linux,
    Mount,
    Process,
    Resources,
    Root,
    Spec,
    User,
    default_mounts,
    namespaces_for,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ALL_CAPS: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
    "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)


class RunFlags(NamedTuple):
    """The `run`/`create` flags that shape the container's spec (networking and IO live elsewhere)."""

    args: tuple[str, ...] = ()
    entrypoint: str | None = None
    env: tuple[str, ...] = ()
    env_files: tuple[str, ...] = ()
    workdir: str = ""
    user: str = ""
    hostname: str = ""
    tty: bool = False
    read_only: bool = False
    tmpfs: tuple[str, ...] = ()
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    resources: Resources = Resources()
    oom_score_adj: int = 0  # --oom-score-adj: Docker's spec always carries it
    network: str = "none"
    privileged: bool = False
    devices: tuple[str, ...] = ()  # --device HOST[:CONTAINER[:PERMS]]
    security_opt: tuple[str, ...] = ()
    ulimits: tuple[str, ...] = ()  # --ulimit NAME=SOFT[:HARD]
    shm_size: str = ""
    sysctls: tuple[str, ...] = ()  # --sysctl KEY=VALUE
    domainname: str = ""
    cgroup_parent: str = ""  # --cgroup-parent: a path under the hierarchies' root ("": minidock/)
    device_cgroup_rules: tuple[str, ...] = ()  # --device-cgroup-rule 'c 1:3 rwm'


class Security(NamedTuple):
    """What `--security-opt` asked for: the seccomp profile ("default", "unconfined" or a file),
    no_new_privs, Docker's masked/read-only /proc and /sys paths (off with systempaths=unconfined),
    and the AppArmor/SELinux options that were accepted but have no effect here."""

    seccomp: str = "default"
    no_new_privileges: bool = False
    system_paths: bool = True
    lsm_options: tuple[str, ...] = ()


_LSM_OF = {"apparmor": "apparmor", "label": "selinux"}  # option -> the kernel's LSM that applies it
_BOOLS = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
          "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}


def parse_security_opts(opts: Sequence[str]) -> Security:
    """Docker's --security-opt values: seccomp=unconfined|PATH, no-new-privileges[=|:BOOL],
    apparmor=PROFILE, label=..., systempaths=unconfined (`key:value` is the old spelling)."""
    sec = Security()
    for opt in opts:
        if opt == "no-new-privileges":
            sec = sec._replace(no_new_privileges=True)
            continue
        key, sep, value = opt.partition("=")
        if not sep:
            key, sep, value = opt.partition(":")
        if not sep:
            raise UsageError(f"invalid --security-opt: {opt!r}")
        if key == "seccomp":
            if not value:
                raise UsageError(f"invalid --security-opt: {opt!r}: seccomp wants unconfined or a profile's path")
            sec = sec._replace(seccomp=value if value == "unconfined" else os.path.abspath(value))
        elif key == "no-new-privileges":
            if value not in _BOOLS:
                raise UsageError(f"invalid --security-opt: {opt!r}: want true or false")
            sec = sec._replace(no_new_privileges=_BOOLS[value])
        elif key == "systempaths" and value == "unconfined":
            sec = sec._replace(system_paths=False)
        elif key in ("apparmor", "label"):
            sec = sec._replace(lsm_options=(*sec.lsm_options, opt))
        else:
            raise UsageError(f"invalid --security-opt: {opt!r}")
    return sec


def security_notes(opts: Sequence[str], lsm: str) -> list[str]:
    """One warning per AppArmor/SELinux option that this kernel (its LSM list, `lsm`) cannot apply."""
    active = set(lsm.strip().split(","))
    notes = []
    for opt in parse_security_opts(opts).lsm_options:
        module = _LSM_OF[opt.split("=", 1)[0].split(":", 1)[0]]
        if module not in active:
            notes.append(f"WARNING: --security-opt {opt} ignored: this kernel has no {module}")
    return notes


def resolve_command(image: ContainerConfig, args: Sequence[str], entrypoint: str | None) -> tuple[str, ...]:
    """Docker's rule: Entrypoint + Cmd; `--entrypoint` replaces Entrypoint and drops the image Cmd."""
    if entrypoint is not None:
        ep: tuple[str, ...] = (entrypoint,) if entrypoint else ()
        cmd = tuple(args)
    else:
        ep = image.entrypoint or ()
        cmd = tuple(args) if args else (image.cmd or ())
    full = ep + cmd
    if not full:
        raise UsageError("no command specified")
    return full


def parse_env_file(text: str, where: str, host_env: Mapping[str, str]) -> list[str]:
    """Docker's --env-file: KEY=VALUE lines, `#` comments, bare KEY taken from the host env."""
    out: list[str] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        key = line.split("=", 1)[0]
        if not key or any(c.isspace() for c in key):
            raise UsageError(f"{where}:{n}: invalid variable name {key!r}")
        if "=" in line:
            out.append(line)
        elif key in host_env:
            out.append(f"{key}={host_env[key]}")
    return out


def merge_env(image_env: Sequence[str], overrides: Sequence[str], host_env: Mapping[str, str],
              extra: Sequence[str] = ()) -> tuple[str, ...]:
    """Image Env, then `extra` (HOSTNAME, TERM), then -e/--env-file; later keys win, order kept."""
    merged: dict[str, str] = {}
    for item in (*image_env, *extra):
        k, _, v = item.partition("=")
        merged[k] = v
    for item in overrides:
        k, eq, v = item.partition("=")
        if not k:
            raise UsageError(f"invalid environment variable {item!r}")
        if eq:
            merged[k] = v
        elif k in host_env:
            merged[k] = host_env[k]
    if "PATH" not in merged:
        merged = {"PATH": DEFAULT_PATH.split("=", 1)[1], **merged}
    return tuple(f"{k}={v}" for k, v in merged.items())


def parse_tmpfs(text: str) -> Mount:
    """--tmpfs PATH[:OPTIONS] (Docker's defaults: noexec, nosuid, nodev)."""
    path, _, opts = text.partition(":")
    if not os.path.isabs(path):
        raise UsageError(f"invalid tmpfs {text!r}: path must be absolute")
    extra = tuple(o for o in opts.split(",") if o)
    return Mount(destination=os.path.normpath(path), type="tmpfs", source="tmpfs",
                 options=("nosuid", "nodev", "noexec", *extra))


def _cap_name(name: str) -> str:
    n = name.upper()
    return n if n.startswith("CAP_") or n == "ALL" else f"CAP_{n}"


def host_caps(status: str | None = None) -> tuple[str, ...]:
    """The capabilities of this process's bounding set (/proc/self/status CapBnd): what "all" can
    give here (a VM or container that lacks one cannot hand it on: capset would fail)."""
    try:
        text = status if status is not None else open("/proc/self/status").read()  # noqa: SIM115 - small file
        bits = int(next(ln.split()[1] for ln in text.splitlines() if ln.startswith("CapBnd:")), 16)
    except (OSError, StopIteration, ValueError, IndexError):
        return ALL_CAPS
    return tuple(c for i, c in enumerate(ALL_CAPS) if bits >> i & 1)


def resolve_caps(add: Sequence[str], drop: Sequence[str], privileged: bool = False,
                 available: Sequence[str] = ALL_CAPS) -> tuple[str, ...]:
    """Docker's default set, plus --cap-add, minus --cap-drop (ALL accepted in both); "all"
    (--privileged, --cap-add ALL) means every capability in `available`."""
    adds, drops = [_cap_name(c) for c in add], [_cap_name(c) for c in drop]
    for c in (*adds, *drops):
        if c != "ALL" and c not in ALL_CAPS:
            raise UsageError(f"unknown capability {c!r}")
    every = [c for c in ALL_CAPS if c in available]
    caps = every if privileged or "ALL" in adds else list(DEFAULT_CAPS)
    caps += [c for c in adds if c != "ALL" and c not in caps]
    if "ALL" in drops:
        caps = [c for c in adds if c != "ALL"]
    return tuple(c for c in caps if c not in drops)


class SpecInputs(NamedTuple):
    """What build_spec needs besides the flags."""

    image: ContainerConfig
    rootfs: tuple[Mount, ...]
    root_path: str
    container_id: str
    extra_mounts: tuple[Mount, ...] = ()
    user: User = User()


def build_spec(inp: SpecInputs, flags: RunFlags, host_env: Mapping[str, str]) -> Spec:
    """The whole runtime spec of a container (the engine resolves the user before calling)."""
    hostname = flags.hostname or inp.container_id[:12]
    extra = [f"HOSTNAME={hostname}"] + (["TERM=xterm"] if flags.tty else [])
    env_over: list[str] = []
    for f in flags.env_files:
        try:
            text = open(f).read()  # noqa: SIM115 - small file
        except OSError as e:
            raise UsageError(f"env file {f}: {e.strerror}") from e
        env_over += parse_env_file(text, f, host_env)
    env = merge_env(inp.image.env, [*env_over, *flags.env], host_env, extra)
    sec = parse_security_opts(flags.security_opt)
    wants_all = flags.privileged or any(c.upper() == "ALL" for c in flags.cap_add)
    caps = resolve_caps(flags.cap_add, flags.cap_drop, flags.privileged, host_caps() if wants_all else ALL_CAPS)
    mounts = (*with_shm_size(default_mounts(cgroup_rw=flags.privileged), flags.shm_size),  # Docker: rw if privileged
              *inp.extra_mounts, *(parse_tmpfs(t) for t in flags.tmpfs))
    process = Process(
        args=resolve_command(inp.image, flags.args, flags.entrypoint), env=env,
        cwd=flags.workdir or inp.image.working_dir or "/", user=inp.user, terminal=flags.tty,
        capabilities=Capabilities.of(caps, inp.user.uid), no_new_privileges=sec.no_new_privileges,
        rlimits=ulimits(flags.ulimits), oom_score_adj=flags.oom_score_adj)
    nodes, rules = device_config(flags.devices, flags.privileged, flags.device_cgroup_rules)
    confined = sec.system_paths and not flags.privileged
    linux = Linux(namespaces=namespaces_for(flags.network), resources=flags.resources._replace(devices=rules),
                  cgroups_path=cgroups_path(flags.cgroup_parent, inp.container_id), devices=nodes,
                  masked_paths=Linux().masked_paths if confined else (),
                  readonly_paths=Linux().readonly_paths if confined else (),
                  seccomp="unconfined" if flags.privileged else sec.seccomp,  # why: Docker: privileged is unconfined
                  sysctl=MappingProxyType(sysctls(flags.sysctls, flags.network)))
    return Spec(process=process, root=Root(inp.root_path, flags.read_only), hostname=hostname,
                mounts=tuple(mounts), linux=linux, rootfs_mounts=inp.rootfs, domainname=flags.domainname)


def cgroups_path(parent: str, container_id: str) -> str:
    """The container's cgroup: `minidock/<id>`, or with `--cgroup-parent` Docker's cgroupfs path
    `<parent>/<id>`, absolute (under the hierarchies' root, where dockerd's own cgroup is `/`)."""
    if not parent:
        return f"minidock/{container_id}"
    return os.path.normpath("/" + os.path.normpath(f"{parent}/{container_id}").lstrip("/"))
