"""`exec`: the request, checked against the container's state, turned into the runtime's ExecTarget.

The process gets what the container's own process got (capabilities, no_new_privs, user resolution
in the container's /etc/passwd) with Docker's exec overrides: --env-file then -e added to the
container's env, -u, -w, -t, --privileged (every capability this host has, in every set; the
container's seccomp filter and no_new_privs stay, as in Docker); -i keeps our stdin (else
/dev/null); -d does not wait.
"""

import contextlib
import os

from minidock.engine.lifecycle import cgroup_of, open_records, spec_of
from minidock.engine.spec import host_caps, merge_env, parse_env_file
from minidock.errors import ConflictError, MinidockError, UsageError
from minidock.nouns import NamedTuple
from minidock.oci.runtimespec import Capabilities, User
from minidock.store.store import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidock.runtime.execute import ExecIO, ExecTarget


class ExecRequest(NamedTuple):
    """The flags of `minidock exec`."""

    container: str
    cmd: tuple[str, ...]
    interactive: bool = False
    tty: bool = False
    detach: bool = False
    env: tuple[str, ...] = ()
    user: str = ""
    workdir: str = ""
    env_files: tuple[str, ...] = ()
    privileged: bool = False
    detach_keys: bytes | None = None  # -it: the keys that leave the process running (None: it cannot detach)


def _env_files(paths: tuple[str, ...]) -> list[str]:
    """--env-file contents (Docker's format), in the order given."""
    out: list[str] = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                out += parse_env_file(f.read(), path, os.environ)
        except OSError as e:
            raise UsageError(f"open {path}: {(e.strerror or str(e)).lower()}") from e
    return out


def _exec(req: ExecRequest, target: "ExecTarget", io: "ExecIO") -> int:
    """Run it; with -it under a supervisor of its own, so that the detach keys leave it running
    (runtime/attachable.py): then Docker's `read escape sequence`, exit 1."""
    from minidock.runtime import execute

    if req.detach_keys is None or not (req.tty and req.interactive) or req.detach:
        return execute.exec_process(target, io)
    from minidock.errors import PlainError
    from minidock.runtime.attachable import attached

    out = attached(lambda letgo, _started: execute.exec_process(target, io._replace(letgo=letgo)),
                   req.detach_keys, sig_proxy=False, stdio=(io.stdin, io.stdout, io.stderr))
    if out.detached:
        raise PlainError("read escape sequence")  # why: Docker's client ends an exec so, with 1
    return out.code


def exec_in(req: ExecRequest, stdio: tuple[int, int, int] = (0, 1, 2), store: Store | None = None) -> int:
    """Run `req.cmd` in the running container; its exit code (0 at once with -d)."""
    from minidock.runtime import execute

    if not req.cmd:
        raise UsageError("exec: no command given")
    store, records = open_records(store)
    paths = store.paths
    rec = records.get(req.container)
    if rec.status == "paused":
        raise ConflictError(f"container {rec.id[:12]} is paused, unpause the container before exec")
    if rec.status != "running" or not rec.pid:
        raise ConflictError(f"container {req.container} is not running")
    spec = spec_of(records, rec.id)
    if req.workdir and not req.workdir.startswith("/"):
        raise UsageError(f"exec: the working directory {req.workdir!r} is not an absolute path")
    extra = ("TERM=xterm",) if req.tty else ()  # why: Docker's exec -t, unless -e sets TERM
    process = spec.process._replace(
        args=req.cmd, env=merge_env(spec.process.env, (*extra, *_env_files(req.env_files), *req.env), os.environ),
        cwd=req.workdir or spec.process.cwd, terminal=req.tty,  # -u: --group-add's groups stay (Docker's getUser)
        user=User(name=req.user, groups=spec.process.user.groups) if req.user else spec.process.user)
    if req.privileged:
        process = process._replace(capabilities=Capabilities.of(host_caps()))
    cgroup = None
    with contextlib.suppress(MinidockError, OSError):
        cgroup = cgroup_of(records, rec.id)
    from minidock.runtime.explain import NullTracer
    from minidock.runtime.process import keyring_name, seccomp_program

    # why: the container's own filter (its bounding set's) and keyring, as runc exec gives them
    bpf = seccomp_program(spec, store.paths.seccomp_cache, NullTracer())
    target = execute.ExecTarget(rec.pid, tuple(n.type for n in spec.linux.namespaces), process, cgroup,
                                seccomp=bpf, keyring=keyring_name(spec))
    stdin = stdio[0] if req.interactive else os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
    from minidock.engine.events import emit_container

    what = " ".join(req.cmd)
    emit_container(paths, rec, f"exec_create: {what}", execID=os.urandom(32).hex())
    emit_container(paths, rec, f"exec_start: {what}")
    code = _exec(req, target, execute.ExecIO(stdin, stdio[1], stdio[2], req.detach))
    if not req.detach:
        emit_container(paths, rec, "exec_die", exitCode=str(code))
    return code
