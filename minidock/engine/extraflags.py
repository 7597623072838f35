"""The `run`/`create` flags Docker 20.10 accepts that minidock honours only as far as Docker itself
does on this host: --runtime, --isolation, --kernel-memory, --storage-opt, --volume-driver, --gpus,
--disable-content-trust, and --link (legacy links: a hosts line on the default bridge).

`check(req)` raises Docker's error for what its client or daemon refuses (client: a FlagError,
exit 125; daemon: InvalidParameterError, `create` exits 1) and returns its warnings; `links(req,
paths)` resolves --link to (alias, ip) pairs for the container's /etc/hosts. Pure but for `links`.
"""

from __future__ import annotations

from minidock.errors import FlagError, InvalidParameterError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidock.engine.request import RunRequest
    from minidock.paths import Paths

RUNTIMES = ("runc", "io.containerd.runc.v2", "io.containerd.runtime.v1.linux")  # Docker's built-in ones
KERNEL_MEMORY_WARNING = "Specifying a kernel memory limit is deprecated and will be removed in a future release."
_GPU_KEYS = ("driver", "count", "device", "capabilities", "options")
_MIN_KERNEL_MEMORY = 6 * 1024 * 1024


def _flag_error(text: str, command: str) -> FlagError:
    """Docker's client's two lines (cli/usage.py words the others)."""
    return FlagError(f"{text}\nSee 'minidock {command} --help'.")


def check(req: RunRequest, command: str = "run") -> list[str]:
    """Docker's checks of these flags, client's first; the warnings its client prints."""
    warnings = _client(req, command)
    _daemon(req, command)
    return warnings


def _client(req: RunRequest, command: str) -> list[str]:
    """What docker/cli refuses before asking the daemon (exit 125)."""
    warnings: list[str] = []
    if req.kernel_memory:
        from minidock.engine.resources import is_size, size

        if not is_size(req.kernel_memory):
            raise _flag_error(f'invalid argument "{req.kernel_memory}" for "--kernel-memory" flag: invalid size: '
                              f"'{req.kernel_memory}'", command)
        if size(req.kernel_memory):
            warnings.append(KERNEL_MEMORY_WARNING)
    if any("=" not in opt for opt in req.storage_opt):
        raise _flag_error("invalid storage option.", command)
    if req.gpus:
        why = gpu_request_error(req.gpus)
        if why:
            raise _flag_error(f'invalid argument "{req.gpus}" for "--gpus" flag: {why}', command)
    for link in req.links:
        if not link:
            raise _flag_error('invalid argument "" for "--link" flag: empty string specified for links', command)
        if link.count(":") > 1:
            raise _flag_error(f'invalid argument "{link}" for "--link" flag: bad format for links: {link}', command)
    if req.links and (req.network in ("none", "host") or req.network.startswith("container:")):
        raise _flag_error("links are only supported for user-defined networks", command)
    return warnings


def gpu_request_error(value: str) -> str:
    """docker/cli's opts.GpuOpts.Set: '' when `value` parses, else its words."""
    seen: set[str] = set()
    for field in value.split(","):
        key, eq, val = field.partition("=")
        if key in seen:
            return f"gpu request key '{key}' can be specified only once"
        seen.add(key)
        count = key if not eq else val if key == "count" else ""
        if not eq or key == "count":
            seen.add("count")
            if count != "all" and not (count.lstrip("+-").isdigit() and count.isascii()):
                return f'count must be an integer: strconv.Atoi: parsing "{count}": invalid syntax'
        elif key not in _GPU_KEYS:
            return f"unexpected key '{key}' in '{field}'"
    return ""


def refuse_gpus(value: str) -> None:
    """Docker's daemon starting a container with a GPU request and no GPU driver (none here)."""
    driver, caps = _gpu_driver(value)
    raise InvalidParameterError(f'could not select device driver "{driver}" with capabilities: {caps}')


def _gpu_driver(value: str) -> tuple[str, str]:
    """(driver, capabilities as Go prints [][]string) of a parsed --gpus request."""
    fields = dict(f.partition("=")[::2] for f in value.split(",") if "=" in f)
    caps = [*(c for c in fields.get("capabilities", "").split(",") if c), "gpu"] if "capabilities" in fields \
        else ["gpu"]
    return fields.get("driver", ""), f"[[{' '.join(caps)}]]"


def _daemon(req: RunRequest, command: str) -> None:
    """What Docker's daemon refuses on this host (a Linux overlay2 store without xfs quotas, no GPUs:
    a GPU request is refused when the container starts, `create` keeps it: `refuse_gpus`)."""
    if req.runtime and req.runtime not in RUNTIMES:
        raise InvalidParameterError(f"Unknown runtime specified {req.runtime}")
    if req.isolation and req.isolation.lower() != "default":
        raise InvalidParameterError(f'Invalid isolation: "{req.isolation}" - linux only supports \'default\'')
    if req.kernel_memory:
        from minidock.engine.resources import size

        if 0 < size(req.kernel_memory) < _MIN_KERNEL_MEMORY:
            raise InvalidParameterError("Minimum kernel memory limit allowed is 6MB")
    for opt in req.storage_opt:
        key = opt.split("=", 1)[0]
        if key.lower() != "size":
            raise InvalidParameterError(f"Unknown option {key}")
        raise InvalidParameterError("--storage-opt is supported only for overlay over xfs with 'pquota' mount option")
    if req.gpus and command == "run":
        refuse_gpus(req.gpus)
    if req.volume_driver and req.volume_driver != "local":
        named = [v.split(":", 1)[0] for v in req.volumes if ":" in v and not v.startswith(("/", "."))]
        if named:
            raise InvalidParameterError(f"create {named[0]}: error looking up volume plugin {req.volume_driver}: "
                                        f'plugin "{req.volume_driver}" not found')


def link_hosts(req: RunRequest, paths: Paths) -> tuple[str, ...]:
    """--link NAME[:ALIAS] -> `--add-host` values (ALIAS:IP, NAME:IP) for the container's /etc/hosts.
    On the default bridge Docker's daemon wants the container to exist and run; on a user-defined
    network a link is an alias, and one to a container that is missing or stopped is no error."""
    from minidock.errors import NotFoundError
    from minidock.store.containers import ACTIVE, ContainerStore

    records = ContainerStore(paths)
    strict = req.network in ("", "bridge", "default")
    out: list[str] = []
    for link in req.links:
        name, _, alias = link.partition(":")
        alias = (alias or name).lstrip("/")
        try:
            rec = records.get(name)
        except NotFoundError as e:
            if not strict:
                continue
            raise InvalidParameterError(f"could not get container for {name}: No such container: {name}") from e
        ip = str((rec.network or {}).get("ip", ""))
        if rec.status not in ACTIVE or not ip:
            if not strict:
                continue
            raise InvalidParameterError(f"Cannot link to a non running container: /{rec.name} AS "
                                        f"/{req.name or '?'}/{alias}")
        out += [f"{a}:{ip}" for a in dict.fromkeys((alias, rec.name)) if a]
    return tuple(out)


def remove_link(ref: str) -> None:
    """`rm -l /NAME/ALIAS`: minidock keeps no link graph (a link is a hosts line written at create),
    so there is never such a link; a bare container name is Docker's conflict."""
    from minidock.errors import ConflictError, NotFoundError

    name = ref.lstrip("/")
    if "/" not in name:
        raise ConflictError("Conflict, cannot remove the default link name of the container")
    raise NotFoundError(f"no such container: {name}")
