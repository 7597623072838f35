"""Creating and running containers: image -> snapshot -> spec -> runtime; records kept in the store.

Lifecycle of a foreground `run`: resolve (and pull) the image, reserve id and name, prepare the
container's active snapshot (overlay upper on the image's layers), translate image config + flags
into an OCI spec (written to containers/<id>/config.json), hand it to the runtime, record the exit
status, and with `--rm` remove snapshot and record.
"""

from __future__ import annotations

import os

from minidock.engine import netwire, nsmodes
from minidock.engine.host import CGROUP_ROOT
from minidock.engine.lookup import LoadedImage, find_image, load_record, open_store
from minidock.engine.names import random_name
from minidock.engine.netwire import NetPlan, NetSession
from minidock.engine.request import RunRequest
from minidock.engine.runparts import host_config_of, keep_profile, plan_mounts, run_flags, volume_specs, with_init
from minidock.engine.spec import SpecInputs, build_spec
from minidock.errors import ConflictError, ImageNotFoundError, MinidockError, UsageError
from minidock.nouns import NamedTuple
from minidock.oci.runtimespec import Spec, User
from minidock.paths import PRIVATE_FILE_MODE
from minidock.runtime.explain import NullTracer, Step, Tracer
from minidock.store.alive import start_time
from minidock.store.atomic import atomic_write_json
from minidock.store.containers import ContainerStore, now_rfc3339
from minidock.store.ctrrecord import ContainerRecord
from minidock.store.store import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from minidock.engine.logwriter import LogWriter
    from minidock.engine.volumes import MountSpec
    from minidock.runtime.terminal import Detach

    Puller = Callable[[str, str], None]  # (image reference, platform) -> pulls it, rendering progress


class RunIO:
    """Where a foreground container's stdio goes, the tracer for --explain, and how to pull."""

    __slots__ = ("detach_keys", "pull", "stderr", "stdin", "stdout", "tracer")

    def __init__(self, stdin: int = 0, stdout: int = 1, stderr: int = 2, tracer: Tracer | None = None,
                 pull: Puller | None = None) -> None:
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.tracer: Tracer = tracer or NullTracer()
        self.pull = pull
        self.detach_keys: bytes | None = None  # set: the CLI may leave the container running (run -it)


class Created(NamedTuple):
    """A container that exists in the store (record, snapshot, config.json) but has not run yet.

    `finish`: for a foreground run (create(starts_here=True)), what is still to write (config.json,
    the record as running, the cidfile, the `create` event); None when create() wrote it all."""

    store: Store
    record: ContainerRecord
    spec: Spec
    image: LoadedImage
    net: NetPlan
    request: RunRequest
    finish: Callable[[], object] | None = None

    def net_session(self) -> NetSession:
        """The network wiring for whichever process supervises this container."""
        return NetSession(self.net, self.store.paths, self.record.id, self.record.name, self.spec.hostname)


def ensure_image(store: Store, req: RunRequest, pull: Puller | None) -> LoadedImage:
    """The image of `req`, pulled first when missing (or always with --pull always)."""
    if req.pull not in ("missing", "always", "never"):
        raise UsageError(f"invalid --pull policy {req.pull!r}: want missing, always or never")
    rec = None if req.pull == "always" else find_image(store, req.image)
    if rec is None:
        from minidock.image.reference import Reference

        Reference.parse(req.image)  # a malformed name is its own error, before "unable to find"
        if req.pull == "never" or pull is None:
            raise ImageNotFoundError(f"image {req.image}: not found")
        pull(req.image, req.platform)
        rec = find_image(store, req.image)
        if rec is None:
            raise ImageNotFoundError(f"image {req.image}: not found after pull")
    return load_record(store, rec)


def _reserve(containers: ContainerStore, record: ContainerRecord, named: bool) -> ContainerRecord:
    """The record made, under its name. A random name that is taken is drawn again (Docker's
    daemon.generateNewName): five more tries, with a digit appended, then the short id."""
    if named:
        return containers.create(record)
    for retry in range(1, 7):
        try:
            return containers.create(record)
        except ConflictError:
            record = record.with_(name=random_name(retry) if retry < 6 else record.id[:12])
    return containers.create(record)


def _checked(req: RunRequest, store: Store) -> tuple[RunRequest, list[MountSpec]]:
    """The request's flags checked before anything is written (bad flags, -v/--mount, a cidfile
    that exists), --link's hosts lines added; the parsed -v/--mount."""
    run_flags(req)
    nsmodes.check(req)
    if req.links:  # why: Docker's legacy links are hosts lines naming the linked containers' addresses
        from minidock.engine.extraflags import link_hosts

        req = req._replace(add_hosts=(*req.add_hosts, *link_hosts(req, store.paths)))
    if req.cidfile and os.path.exists(req.cidfile):
        raise UsageError(f"container ID file found, make sure the other container isn't running or delete "
                         f"{req.cidfile}")
    return req, volume_specs(req)


def create(req: RunRequest, pull: Puller | None = None, store: Store | None = None, *,
           starts_here: bool = False) -> Created:
    """Reserve the container: record, active snapshot, config.json. Undone on any failure.

    `starts_here`: this process supervises it next (foreground run): config.json, the state write
    that records it running (monitor_pid = this process), the cidfile and the `create` event are
    left to `Created.finish`, which run_foreground has the runtime call while the container's PID 1
    builds its file system (~1 ms of writes overlapping the child's work, not before the fork)."""
    store = store or open_store()
    req, specs = _checked(req, store)
    image = ensure_image(store, req, pull)
    from minidock.engine.ctrconfig import container_config, run_config

    config = container_config(req, image.config.config)
    net = netwire.plan(req, store.paths, tuple(config["ExposedPorts"]))
    containers = ContainerStore(store.paths)
    cid = containers.new_id()
    record = ContainerRecord(id=cid, name=req.name or random_name(), image=req.image,
                             image_id=str(image.id), created=now_rfc3339(),
                             host_config={**host_config_of(req), **nsmodes.host_config(req, store.paths),
                                          "NetworkPlan": net.to_json(), "Config": config},
                             creating=os.getpid())  # why: a kill -9 from here on leaves a record to reclaim
    record = _reserve(containers, record, named=bool(req.name))
    if containers.pending:  # why: what crashed supervisors left (an address, cgroups) goes back now
        from minidock.engine.reclaim import reclaim_pending

        reclaim_pending(store, containers, containers.pending)
    try:
        rootfs = store.snapshots.prepare(cid, image.top_layer, volatile=req.rm)
        user = User(name=req.user or image.config.config.user, groups=req.group_add)
        hostname = req.hostname or cid[:12]
        files = netwire.write_files(containers.dir(cid), hostname, req, net)
        mplan = plan_mounts(store, specs, image.config.config.volumes, req.volumes_from)
        inp = SpecInputs(image=image.config.config, rootfs=rootfs, root_path=f"{containers.dir(cid)}/rootfs",
                         container_id=cid, extra_mounts=(*files, *(mplan.mounts if mplan else ())), user=user)
        spec = keep_profile(store, cid, build_spec(inp, run_flags(req, hostname, net.spec_network), os.environ))
        spec = nsmodes.apply(spec, record.host_config, store.paths)
        if req.init:
            spec = with_init(spec)
        try:
            os.mkdir(f"{containers.dir(cid)}/rootfs")
        except FileExistsError:
            pass
        host_config = {**record.host_config, "MountPoints": list(mplan.inspect if mplan else ()),
                       "Config": {**config, **run_config(req, image.config.config, spec, hostname)}}
        finish = _Completion(store, containers, record, spec, host_config=host_config, cidfile=req.cidfile,
                             running=starts_here)
        if not starts_here:
            record = finish()
    except BaseException:
        remove_files(store, cid, event=False)
        raise
    return Created(store, record, spec, image, net, req, finish if starts_here else None)


class _Completion:
    """The writes that complete a created container (see create): config.json, the record (running
    when this process supervises it), the cidfile, the `create` event."""

    __slots__ = ("cidfile", "containers", "done", "host_config", "record", "running", "spec", "store")

    def __init__(self, store: Store, containers: ContainerStore, record: ContainerRecord, spec: Spec, *,
                 host_config: dict[str, object], cidfile: str, running: bool) -> None:
        self.store, self.containers, self.record, self.spec = store, containers, record, spec
        self.host_config, self.cidfile, self.running = host_config, cidfile, running
        self.done: ContainerRecord | None = None

    def __call__(self) -> ContainerRecord:
        """Write it all, once (a second call returns the record the first one wrote)."""
        if self.done is not None:
            return self.done
        cid = self.record.id
        atomic_write_json(f"{self.containers.dir(cid)}/config.json", self.spec.to_json(), durable=False,
                          mode=PRIVATE_FILE_MODE)  # why: -e values are secrets to other users (Docker: 0600)
        running = {"status": "running", "started_at": now_rfc3339(), "monitor_pid": os.getpid(),
                   "monitor_start": start_time(os.getpid())} if self.running else {}
        record = self.containers.update(cid, command=self.spec.process.args, host_config=self.host_config,
                                        creating=0, **running)
        if self.cidfile:
            with open(self.cidfile, "x") as f:  # "x": never overwrite, like Docker
                f.write(cid)
        from minidock.engine.events import emit_container

        emit_container(self.store.paths, record, "create")
        self.done = record
        return record


def remove_files(store: Store, cid: str, *, volumes: bool = False, event: bool = True) -> None:
    """Remove a container's snapshot and record (the runtime already tore down its mounts);
    `volumes` (rm -v, run --rm): its anonymous volumes too; `event`: journal its "destroy"."""
    records = ContainerStore(store.paths)
    rec = records.find(cid)
    if rec is not None and event:
        from minidock.engine.events import emit_container

        emit_container(store.paths, rec, "destroy")
    if volumes and rec is not None and rec.host_config.get("MountPoints"):
        from minidock.engine.volumes import remove_anonymous

        try:
            remove_anonymous(store, rec)
        except (MinidockError, OSError):
            pass
    try:
        store.snapshots.remove(cid)
    except (MinidockError, OSError):
        pass
    records.remove(cid)


def run_foreground(req: RunRequest, io: RunIO) -> int:
    """`minidock run` without -d: create, start in this process, wait, record; returns the exit code.
    With `io.detach_keys` a supervisor forked off runs it, so that the CLI may end first (detach
    keys, --sig-proxy=false): runtime/attachable.py."""
    c = create(req, io.pull, starts_here=True)
    if io.detach_keys is None:
        return _supervise(c, io)
    from minidock.runtime.attachable import attached

    return attached(lambda detach, started: _supervise(c, io, detach, started), io.detach_keys,
                    sig_proxy=req.sig_proxy and not req.tty, stdio=(io.stdin, io.stdout, io.stderr)).code


def _supervise(c: Created, io: RunIO, detach: Detach | None = None, started: Callable[[int], None] | None = None
               ) -> int:
    """Start the created container in this process, relay, wait, record; its exit code."""
    from minidock.runtime import process

    containers = ContainerStore(c.store.paths)
    session = c.net_session()
    log = _foreground_log(c, containers, attachable=detach is not None)

    def while_starting(_pid: int) -> None:
        """The record's last writes and the `start` event, while the container's PID 1 mounts (the
        parent would only wait meanwhile); the events module loads here too."""
        if c.finish is not None:
            c.finish()
        if started is not None:  # why: a container the CLI may leave running is stopped, exec'd by its pid
            containers.update(c.record.id, pid=_pid)
            started(_pid)
        from minidock.engine.events import emit_container

        emit_container(c.store.paths, c.record, "start")

    opts = process.RunOptions(tracer=io.tracer, cgroup_root=CGROUP_ROOT, stdin=io.stdin, stdout=io.stdout,
                              stderr=io.stderr, seccomp_cache=c.store.paths.seccomp_cache,
                              on_namespaces=session.on_namespaces if c.net.kind == "bridge" else None,
                              tee=log.write if log is not None else None, while_starting=while_starting,
                              detach=detach)
    try:
        # why: a joined container (--pid/--ipc container:) must run now, and its PID 1 is found again
        status = process.run(nsmodes.rejoin(c.spec, c.record.host_config, c.store.paths), opts)
    except MinidockError as e:
        if c.finish is not None:  # why: a start that failed before `go` still leaves a complete record
            c.finish()  # (Exited, with its error), as when these writes came before the fork
        _finish(c, containers, session, exit_code=e.exit_code, error=str(e))
        raise
    finally:
        if log is not None:
            log.close()
    from minidock.engine.events import emit_container

    emit_container(c.store.paths, c.record, "die", exitCode=str(status.code))
    _finish(c, containers, session, exit_code=status.code, oom=status.oom_killed)
    if status.oom_killed:
        raise_oom(status.code)
    return status.code


def _foreground_log(c: Created, containers: ContainerStore, attachable: bool = False) -> LogWriter | None:
    """The json-file log a foreground container's output also goes to (Docker logs it: `logs NAME`
    works afterwards); none for `--rm` (nothing is left to read it, unless the CLI may detach and
    `attach` come back) or `--log-driver none`."""
    if (c.request.rm and not attachable) or c.request.log_driver == "none":
        return None
    from minidock.engine.logopts import LogOptions
    from minidock.engine.logwriter import LogWriter

    opts = LogOptions.parse(list(c.request.log_opts))
    record = {**c.record.to_json(), "command": list(c.spec.process.args)}  # what finish() is about to write
    if isinstance(c.finish, _Completion):
        record["host_config"] = c.finish.host_config
    log = LogWriter(f"{containers.dir(c.record.id)}/log", opts, opts.record_attrs(record))
    log.whole_lines = not c.spec.process.terminal  # why: `attach` (after a detach) shows a prompt as it comes
    return log


def attached_stdio(streams: tuple[str, ...]) -> tuple[int, int, int]:
    """`-a STDIN|STDOUT|STDERR`: the streams named are ours, the others /dev/null (none named: all)."""
    names = {s.lower() for s in streams}
    bad = names - {"stdin", "stdout", "stderr"}
    if bad:
        raise UsageError(f"invalid argument {sorted(bad)[0]!r} for \"-a, --attach\" flag: valid streams are "
                         "STDIN, STDOUT and STDERR")
    if not names:
        return 0, 1, 2
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    return tuple(fd if name in names else null  # type: ignore[return-value]
                 for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")))


def explain_tracer(sink: Callable[[Step], None]) -> Tracer:
    """A tracer for --explain that hands each kernel step to `sink` as it ends."""
    return Tracer(sink)


class OOMKilledError(MinidockError):
    """Not an error of minidock's: the container was killed by its memory limit (exit 137)."""


def raise_oom(code: int) -> None:
    err = OOMKilledError("container was OOM-killed: it exceeded its memory limit (--memory)")
    err.exit_code = code
    raise err


def _finish(c: Created, containers: ContainerStore, session: NetSession, exit_code: int, *, oom: bool = False,
            error: str = "") -> None:
    """Record how the container ended; its network goes now (the processes are gone)."""
    session.close()
    netwire.release(c.store.paths, c.record.id, session.attachment)
    if c.request.rm:
        remove_files(c.store, c.record.id, volumes=True)
        return
    containers.update(c.record.id, status="exited", exit_code=exit_code, oom_killed=oom, error=error,
                      finished_at=now_rfc3339(), pid=0)
