"""RUN --mount as BuildKit does it: cache, bind, tmpfs, secret and ssh mounts of a RUN container.

Two phases. `plan(s, state, inst)` resolves every `--mount` of a RUN (values `$VAR`-expanded,
relative targets taken from WORKDIR, bind sources looked up in the context or in a stage/image)
into a `Planned` mount with its cache-key text: a cache or tmpfs mount counts by its presence and
options only, a bind by the digest of what it shows, a secret by its id and target (never its
value). `materialize(plans, scratch)` is a context manager that, for one run, makes what the mounts
need (the persistent cache directory under <root>/build-mounts/cache and its sharing lock, an
overlay upper for a `rw` bind, a private copy of a secret) and yields runtime spec mounts; all of
it but the cache directories is temporary. Nothing a mount shows ends up in the layer.
"""

import contextlib
import fcntl
import os
import posixpath
import re
from collections.abc import Iterator
from pathlib import Path

from minidock.builder.context import ContextTree, LayerTree, SourceItem, expand_sources, hash_items
from minidock.builder.flags import Mount as MountFlag
from minidock.builder.instructions import Run
from minidock.builder.session import Secret, Session
from minidock.builder.state import StageState
from minidock.errors import BuildError
from minidock.nouns import NamedTuple
from minidock.oci.digest import sha256
from minidock.oci.runtimespec import Mount
from minidock.paths import Paths

TYPE_CHECKING = False
if TYPE_CHECKING:
    from _typeshed import StrPath

    from minidock.builder.sshagent import SshSource

SHARING = ("shared", "private", "locked")
SECRETS_DIR, SECRET_PREFIX = "/dev/shm", "minidock-secret-"  # store/leftovers.py knows these too
_SIZE = re.compile(r"^\d+[kKmMgG%]?$")


class Planned(NamedTuple):
    """One resolved mount: its kind, absolute target, key text and what it needs to be made.

    `sources`: bind: one host file or directory, or overlay lower dirs (top-most first); cache: the
    persistent directory. `secret`: where a secret's value comes from."""

    kind: str
    target: str
    key: str
    sources: tuple[str, ...] = ()
    readonly: bool = False
    sharing: str = "shared"
    mode: int = 0o755
    uid: int = 0
    gid: int = 0
    size: str = ""
    secret: Secret | None = None
    ignoring: ContextTree | None = None  # a context bind whose .dockerignore must hide paths below sources[0]
    rel: str = ""
    ssh: "SshSource | None" = None  # an ssh mount's agent (None: not given with --ssh, the mount is left out)


def cache_dir(root: "StrPath", cache_id: str) -> Path:
    """The persistent directory of cache mount `cache_id` in the store at `root`."""
    h = sha256.new()
    h.update(cache_id.encode())
    return Path(Paths(str(root)).build_cache_mounts) / h.hexdigest()[:32]


def _opts(m: MountFlag) -> dict[str, str]:
    return {k.lower(): v for k, v in m.options}


def _int(opts: dict[str, str], name: str, default: int, base: int = 10) -> int:
    text = opts.get(name, "")
    if not text:
        return default
    try:
        return int(text, base)
    except ValueError as e:
        raise BuildError(f"invalid mount {name}={text}") from e


def _absolute(target: str, workdir: str) -> str:
    return posixpath.normpath(posixpath.join(workdir or "/", target))


def plan(s: Session, state: StageState, inst: Run) -> list[Planned]:
    """Every `--mount` of `inst` resolved (a missing optional secret is left out)."""
    expand = s.expander(state)
    out = []
    for m in inst.mounts:
        opts = {k: expand(v) for k, v in _opts(m).items()}
        target = _absolute(expand(m.target), state.cc.working_dir) if m.target else ""
        if m.type == "cache":
            out.append(_cache(s, m, target, opts))
        elif m.type == "tmpfs":
            size = opts.get("size", "")
            if size and not _SIZE.match(size):
                raise BuildError(f"invalid tmpfs size {size}")
            out.append(Planned("tmpfs", target, f"tmpfs {target} {size}", size=size))
        elif m.type == "bind":
            out.append(_bind(s, m, target, expand(m.source), expand(m.from_)))
        elif m.type == "secret":
            secret = _secret(s, m, target, opts)
            if secret is not None:
                out.append(secret)
        elif m.type == "ssh":
            out.append(_ssh(s, m, target, opts, sum(p.kind == "ssh" for p in out)))
        else:
            raise BuildError(f"RUN --mount=type={m.type} is not supported")
    return out


def _cache(s: Session, m: MountFlag, target: str, opts: dict[str, str]) -> Planned:
    if m.from_ or m.source:
        raise BuildError(f"cache mount {target}: from= and source= are not supported")
    cache_id = opts.get("id") or target
    sharing = opts.get("sharing", "shared").lower()
    if sharing not in SHARING:
        raise BuildError(f"invalid cache sharing {sharing}: want shared, private or locked")
    mode, uid, gid = _int(opts, "mode", 0o755, 8), _int(opts, "uid", 0), _int(opts, "gid", 0)
    key = f"cache {target} {cache_id} {sharing} {mode:o} {uid} {gid} {m.readonly}"
    return Planned("cache", target, key, (str(cache_dir(s.store.paths.root, cache_id)),), m.readonly,
                   sharing, mode, uid, gid)


def _secret(s: Session, m: MountFlag, target: str, opts: dict[str, str]) -> Planned | None:
    secret_id = opts.get("id") or (posixpath.basename(target) if target else "")
    if not secret_id:
        raise BuildError("secret mount: an id or a target is required")
    target = target or f"/run/secrets/{secret_id}"
    source = s.secrets.get(secret_id)
    if source is None:
        if opts.get("required", "false").lower() == "true":
            raise BuildError(f"secret {secret_id}: not provided (use --secret id={secret_id},src=FILE)")
        return None
    mode, uid, gid = _int(opts, "mode", 0o400, 8), _int(opts, "uid", 0), _int(opts, "gid", 0)
    return Planned("secret", target, f"secret {secret_id} {target} {mode:o} {uid} {gid}", readonly=True,
                   mode=mode, uid=uid, gid=gid, secret=source)


def _ssh(s: Session, m: MountFlag, target: str, opts: dict[str, str], number: int) -> Planned:
    """An agent socket at `target` (BuildKit's default /run/buildkit/ssh_agent.N, N counting this RUN's
    ssh mounts); an id not given with --ssh leaves the mount out unless it is `required`."""
    if m.source or m.from_:
        raise BuildError("ssh does not support source")
    ssh_id = opts.get("id") or "default"
    target = target or f"/run/buildkit/ssh_agent.{number}"
    source = s.ssh.get(ssh_id)
    if source is None and opts.get("required", "false").lower() == "true":
        raise BuildError(f"no SSH key \"{ssh_id}\" forwarded from the client (use --ssh {ssh_id})")
    mode, uid, gid = _int(opts, "mode", 0o600, 8), _int(opts, "uid", 0), _int(opts, "gid", 0)
    return Planned("ssh", target, f"ssh {ssh_id} {target} {mode:o} {uid} {gid}", mode=mode, uid=uid, gid=gid,
                   ssh=source)


def _bind(s: Session, m: MountFlag, target: str, source: str, from_: str) -> Planned:
    tree, identity = s.tree_for(from_, f"mount from={from_}")
    item = expand_sources(tree, (source or "/",) if from_ else (source or ".",), in_context=not from_)[0]
    digest = hash_items(tree, [SourceItem(item.rel, "")])
    key = f"bind {target} {identity} /{item.rel} {digest} {m.readonly}"
    if isinstance(tree, LayerTree):
        dirs = tree.view.dirs_of("/" + item.rel)
        sources = tuple(dirs) if dirs else (tree.host(item.rel),)
    else:
        sources = (tree.host(item.rel),)
        if isinstance(tree, ContextTree) and tree.matcher is not None and os.path.isdir(sources[0]):
            return Planned("bind", target, key, sources, m.readonly, ignoring=tree, rel=item.rel)
    return Planned("bind", target, key, sources, m.readonly)


@contextlib.contextmanager
def materialize(plans: list[Planned], scratch: Path) -> Iterator[list[Mount]]:
    """The spec mounts of `plans` for one run; locks and temporary parts last until the block ends."""
    with contextlib.ExitStack() as stack:
        mounts = []
        for i, p in enumerate(plans):
            work = scratch / f"mount{i}"
            if p.kind == "cache":
                mounts.append(_cache_mount(p, work, stack))
            elif p.kind == "bind":
                mounts.append(_bind_mount(p, work))
            elif p.kind == "tmpfs":
                size = (f"size={p.size}",) if p.size else ()
                mounts.append(Mount(p.target, "tmpfs", "tmpfs", ("nosuid", "nodev", "mode=1777", *size)))
            elif p.kind == "ssh":
                if p.ssh is not None:
                    mounts.append(_ssh_mount(p, p.ssh, stack))
            else:
                mounts.append(_secret_mount(p, stack))
        yield mounts


def _own(path: Path, p: Planned) -> None:
    os.chmod(path, p.mode)
    os.chown(path, p.uid, p.gid)


def _cache_mount(p: Planned, work: Path, stack: contextlib.ExitStack) -> Mount:
    """The cache directory, locked as `sharing` says (private and busy: a throw-away directory).

    The lock comes first, then the directory is made if missing (a prune holds the lock exclusively)."""
    path = Path(p.sources[0])
    for d in (path.parent.parent, path.parent):  # build-mounts/cache: 0700, as the store's other directories
        with contextlib.suppress(FileExistsError):
            os.mkdir(d, 0o700)
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    stack.callback(os.close, fd)
    if p.sharing == "private":
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            work.mkdir()
            _own(work, p)
            return Mount(p.target, "bind", str(work), ("rbind", "ro" if p.readonly else "rw"))
    else:
        fcntl.flock(fd, fcntl.LOCK_EX if p.sharing == "locked" else fcntl.LOCK_SH)
    if not path.is_dir():
        from minidock.store.atomic import make_dir  # lazy: planning (all a cached RUN does) makes nothing

        tmp = Path(make_dir(path.parent, ".new-"))  # owned: a killed build's half-made cache dir is reclaimed
        _own(tmp, p)
        try:
            tmp.rename(path)
        except OSError:  # another build made it first
            tmp.rmdir()
    return Mount(p.target, "bind", str(path), ("rbind", "ro" if p.readonly else "rw"))


def _bind_mount(p: Planned, work: Path) -> Mount:
    """Read-only: the source itself (or a lower-only overlay); rw: an overlay (or a copy) thrown away.

    A context directory with a `.dockerignore` is shown through a copy without the ignored paths
    (hard links where the file system allows: BuildKit never sends ignored files to the builder)."""
    if p.ignoring is not None:
        from minidock.builder.context import link_tree  # lazy: only a bind of a context with .dockerignore

        work.mkdir()
        p = p._replace(sources=(str(link_tree(p.ignoring, p.rel, work / "context")),), ignoring=None)
        return _bind_mount(p, work / "bind")
    if p.readonly:
        if len(p.sources) == 1:
            return Mount(p.target, "bind", p.sources[0], ("rbind", "ro"))
        return Mount(p.target, "overlay", "overlay", ("ro", "lowerdir=" + ":".join(p.sources)))
    work.mkdir()
    if not os.path.isdir(p.sources[0]):
        import shutil  # lazy: planning (all a cached RUN does) makes nothing

        copy = work / "file"
        shutil.copy2(p.sources[0], copy)
        return Mount(p.target, "bind", str(copy), ("rbind", "rw"))
    (work / "upper").mkdir()
    (work / "work").mkdir()
    return Mount(p.target, "overlay", "overlay", ("lowerdir=" + ":".join(p.sources),
                                                  f"upperdir={work / 'upper'}", f"workdir={work / 'work'}"))


def _secret_mount(p: Planned, stack: contextlib.ExitStack) -> Mount:
    """A private copy of the secret (on /dev/shm when there is one), bound read-only."""
    if p.secret is None:
        raise BuildError(f"secret mount {p.target}: no secret")
    path = Path(_private_dir(stack)) / "secret"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with open(fd, "wb") as f:
        f.write(p.secret.read())
    _own(path, p)
    return Mount(p.target, "bind", str(path), ("rbind", "ro"))


def _private_dir(stack: contextlib.ExitStack) -> str:
    """A directory of its own on /dev/shm (else the temp dir), removed with the block."""
    import shutil  # lazy: planning (all a cached RUN does) makes nothing
    import tempfile

    from minidock.store.atomic import make_dir

    where = SECRETS_DIR if os.path.isdir(SECRETS_DIR) else tempfile.gettempdir()
    d = make_dir(where, SECRET_PREFIX)  # owned: a killed build's copy is reclaimed (store/leftovers.py)
    stack.callback(shutil.rmtree, d, True)
    return d


def _ssh_mount(p: Planned, source: "SshSource", stack: contextlib.ExitStack) -> Mount:
    """The RUN's own agent socket (sshagent.py), relayed while the RUN lasts."""
    from minidock.builder.sshagent import agent_socket

    path = stack.enter_context(agent_socket(source, _private_dir(stack), p.mode, p.uid, p.gid))
    return Mount(p.target, "bind", path, ("rbind",))


def remove_cache_mounts(root: "StrPath") -> tuple[int, int]:
    """Delete the cache mount directories of the store at `root` no build is using; (count, bytes)."""
    import shutil  # lazy: only `builder prune --all` removes cache mounts

    from minidock.store.atomic import tree_size

    base = Path(Paths(str(root)).build_cache_mounts)
    count = freed = 0
    for d in sorted(base.iterdir()) if base.is_dir() else []:
        if not d.is_dir() or d.name.startswith("."):
            continue
        fd = os.open(f"{d}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue  # a RUN has it mounted
        try:
            freed += tree_size(d)
            shutil.rmtree(d)  # the lock file stays: a build may be waiting on it
            count += 1
        finally:
            os.close(fd)
    return count, freed
