"""The COPY and ADD steps: resolve sources (context, stage or image; globs; heredocs; ADD's URLs and
archives), key them by content, and write them into a new layer with the copier.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from minidock.builder.context import ContextTree, SourceItem, Tree, expand_sources, file_digest, hash_items
from minidock.builder.copy import Copier, CopyTarget, Owner, absolute_dest, parse_chmod, plan_copy, resolve_chown
from minidock.builder.instructions import Add, Copy
from minidock.builder.nodes import Heredoc
from minidock.builder.session import Session, record_step, view_of
from minidock.builder.state import StageState
from minidock.errors import BuildError
from minidock.nouns import NamedTuple
from minidock.oci.digest import sha256

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidock.builder.layer import Layer

_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


class _Sources(NamedTuple):
    """What one COPY/ADD reads: a tree and items in it, heredoc files, downloaded URLs."""

    tree: Tree
    items: list[SourceItem]
    docs: list[tuple[str, bytes]]
    urls: list[tuple[str, Path]]
    identity: str
    words: list[str]


def copy(s: Session, state: StageState, inst: Copy | Add) -> bool:
    """Run (or reuse) one COPY/ADD step."""
    expand = s.expander(state)
    env = state.expansion_env()
    kind = "ADD" if isinstance(inst, Add) else "COPY"
    words = [expand(w) for w in inst.sources]
    dest = absolute_dest(expand(inst.dest), state.cc.working_dir)
    from_ = expand(inst.from_) if isinstance(inst, Copy) and inst.from_ else ""
    scratch = _Scratch(s)
    try:
        src = _sources(s, inst, words, from_, scratch=scratch, env=env)
        checksum = inst.checksum if isinstance(inst, Add) else ""
        digest = _digest(src, checksum)
        chown, chmod = expand(inst.chown), expand(inst.chmod)
        flags = (f"--from={from_} " if from_ else "")
        created_by = f"{kind} {flags}{' '.join([*words, *(d[0] for d in src.docs)])} {dest} # buildkit"
        parents = isinstance(inst, Copy) and inst.parents
        parts = [kind, created_by, src.identity, digest, chown, chmod, *(f"exclude={p}" for p in inst.exclude)]
        if parents:
            from minidock.builder.copyflags import parents_key

            parts += ["parents", parents_key(src.tree, src.items)]

        def make() -> Layer:
            for url, path in src.urls if checksum else ():
                _download(url, path, checksum)
            return _write(s, state, src, _Target(dest, chown, chmod, kind == "ADD", bool(from_), parents))
        return record_step(s, state, parts, created_by, make)
    finally:
        scratch.remove()


class _Scratch:
    """A scratch directory for ADD's downloads, made on first use (COPY never needs one)."""

    __slots__ = ("path", "s")

    def __init__(self, s: Session) -> None:
        self.s = s
        self.path: Path | None = None

    def get(self) -> Path:
        if self.path is None:
            from minidock.store.atomic import make_dir  # lazy: only ADD of a URL downloads

            self.path = Path(make_dir(self.s.store.paths.tmp, "add-"))
        return self.path

    def remove(self) -> None:
        if self.path is not None:
            import shutil  # lazy: only ADD of a URL made a scratch directory

            shutil.rmtree(self.path, ignore_errors=True)


def _doc_body(doc: Heredoc, env: dict[str, str]) -> bytes:
    """A heredoc file's bytes: `$VAR`/`${VAR}` replaced unless the marker was quoted."""
    if not doc.expand:
        return doc.content.encode()
    return _VAR.sub(lambda m: env.get(m.group(1) or m.group(2), ""), doc.content).encode()


def _sources(s: Session, inst: Copy | Add, words: list[str], from_: str, *, scratch: _Scratch,
             env: dict[str, str]) -> _Sources:
    docs = [(d.name, _doc_body(d, env)) for d in inst.heredocs]
    urls: list[tuple[str, Path]] = []
    local = words
    if isinstance(inst, Add):
        from minidock.builder import add as addmod  # lazy: only ADD has URLs and archives

        local = [w for w in words if not addmod.is_url(w)]
        if inst.checksum:
            if local or inst.heredocs:
                raise BuildError(f"ADD --checksum={inst.checksum}: checksum can't be specified for non-HTTP(S) "
                                 "sources")
            for w in words:
                addmod.check_checksum(w, inst.checksum)
        urls = [(w, scratch.get() / f"url{i}") for i, w in enumerate(words) if addmod.is_url(w)]
        if not inst.checksum:  # the content is the cache key: download now (with --checksum: on a miss)
            for url, path in urls:
                _download(url, path, "")
    tree, identity = s.tree_for(from_, f"--from={from_}")
    parents = isinstance(inst, Copy) and inst.parents
    if parents or inst.exclude:
        from minidock.builder import copyflags  # lazy: only COPY --parents / --exclude

        items = copyflags.parent_items(tree, local, not from_) if parents else \
            expand_sources(tree, tuple(local), in_context=not from_)
        if inst.exclude:
            tree = copyflags.excluding(tree, inst.exclude, local, items)
            items = [item for item in items if tree.lstat(item.rel) is not None]
        return _Sources(tree, items, docs, urls, identity, words)
    items = expand_sources(tree, tuple(local), in_context=not from_) if local else []
    return _Sources(tree, items, docs, urls, identity, words)


def _download(url: str, out: Path, checksum: str) -> Path:
    from minidock.builder import add as addmod  # lazy: only ADD of a URL downloads

    addmod.fetch_url(url, out)
    if checksum:
        got = file_digest(str(out))
        if checksum != f"sha256:{got}":
            raise BuildError(f"ADD {url}: checksum mismatch: want {checksum}, got sha256:{got}")
    return out


def _digest(src: _Sources, checksum: str = "") -> str:
    """The content key of a COPY/ADD: the files it reads, heredoc bodies, URLs' content (or --checksum)."""
    h = sha256.new(sum(len(body) for _, body in src.docs))
    h.update(hash_items(src.tree, src.items).encode())
    for name, body in src.docs:
        h.update(f"\0doc {name}\0".encode() + body)
    for url, path in src.urls:
        content = checksum or f"sha256:{file_digest(str(path))}\0{path.stat().st_mtime_ns}"
        h.update(f"\0url {url}\0{content}".encode())
    return "sha256:" + h.hexdigest()


class _Target(NamedTuple):
    dest: str
    chown: str
    chmod: str
    is_add: bool
    from_stage: bool
    parents: bool = False


def _write(s: Session, state: StageState, src: _Sources, t: _Target) -> Layer:
    """Make the layer: a fresh active snapshot, the copier writing into its upper, commit."""
    # lazy: a cached COPY/ADD writes nothing, so ADD's extras and layer writing (tar, gzip) wait till here
    from minidock.builder import add as addmod
    from minidock.builder.layer import commit_layer, discard, new_layer

    view = view_of(s.store, state.chain)
    key = new_layer(s.store, state.chain)
    try:
        owner = resolve_chown(t.chown, view) if t.chown else (None if t.from_stage else Owner())
        copier = Copier(Path(s.store.snapshots.upper(key)), view, owner, parse_chmod(t.chmod))
        count = len(src.words) + len(src.docs)
        if t.parents:
            from minidock.builder.copyflags import copy_parents

            copy_parents(copier, src.tree, src.items, t.dest)
        for target in [] if t.parents else plan_copy(src.tree, src.items, t.dest, view, count):
            if t.is_add and _unpack(s, copier, src.tree, target.item, t):
                continue
            copier.copy(src.tree, target)
        into = t.dest.endswith("/") or count > 1 or view.is_dir(t.dest)
        for name, body in src.docs:
            copier.write_file(posixpath.join(t.dest, name) if into else t.dest, body)
        for url, path in src.urls:
            name = addmod.url_name(url) if into else ""
            copier.write_file(posixpath.join(t.dest, name) if name else t.dest, path.read_bytes(), 0o600,
                              path.stat().st_mtime_ns)
        return commit_layer(s.store, key, state.chain, s.epoch)
    except BaseException:
        discard(s.store, key)
        raise


def _unpack(s: Session, copier: Copier, tree: Tree, item: SourceItem, t: _Target) -> bool:
    """ADD of a local archive: unpack it into the destination directory; False when it is no archive."""
    import shutil  # lazy: only ADD unpacks archives

    from minidock.builder import add as addmod  # lazy: only ADD unpacks archives
    from minidock.store.atomic import make_dir  # lazy: as above

    if not isinstance(tree, ContextTree):
        from minidock.builder.copyflags import ExcludingTree

        if not (isinstance(tree, ExcludingTree) and isinstance(tree.tree, ContextTree)):
            return False
    host = tree.host(item.rel)
    kind = addmod.archive_kind(host)
    if kind is None:
        return False
    tmp = Path(make_dir(s.store.paths.tmp, "add-"))  # owned: a killed build's scratch is reclaimed
    try:
        addmod.extract_archive(host, kind, tmp)
        owner = copier.owner if t.chown else None  # archives keep their owners unless --chown
        keep = Copier(copier.upper, copier.view, owner, copier.mode)
        dest = copier.view.canonical(t.dest.rstrip("/") or "/")
        keep.copy(ContextTree(tmp), CopyTarget(SourceItem("", ""), dest))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return True
