"""The Dockerfile builder: stages -> steps -> layers and config -> an OCI image named by its tags.

Lifecycle of `build(store, options, progress, pull)`: parse the Dockerfile, check the tags, pick
the stages the target needs, then build each: FROM (an image from the store, pulled when missing
through `pull`; `scratch`; or an earlier stage) with the base's ONBUILD triggers, then every
instruction through `steps.execute` (cached or made). The target's config and manifest are stored
and recorded under the tags (untagged: as `<none>@<manifest digest>`, the loader's convention) as
the very last act, so a failure leaves no tag, no image record and no active snapshot (each layer
step removes its own on failure). Cache entries of the steps that
succeeded are kept, as Docker does, so a retry resumes where it failed.
"""

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from minidock.builder.buildnet import NONE, NetTarget
from minidock.builder.cache import BuildCache
from minidock.builder.context import ContextTree
from minidock.builder.events import (
    BuildFinished,
    BuildNote,
    Internal,
    Progress,
    StepDone,
    StepStarted,
    no_progress,
)
from minidock.builder.expand import ExpandError
from minidock.builder.instructions import (
    Add,
    Copy,
    Dockerfile,
    From,
    Instruction,
    Run,
    Stage,
    Workdir,
    parse_dockerfile,
)
from minidock.builder.session import Secret, Session
from minidock.builder.stages import StageBuilder, StageRefs
from minidock.builder.state import StageState, rfc3339, write_image
from minidock.builder.steps import RunFailedError
from minidock.errors import BuildError, DockerfileError, ImageNotFoundError, MinidockError, UsageError
from minidock.image.reference import Reference
from minidock.nouns import NamedTuple
from minidock.oci.descriptor import Descriptor, Platform
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import ImageConfig
from minidock.store.images import ImageRecord
from minidock.store.store import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidock.builder.sshagent import SshSource

Puller = Callable[[Reference, Platform | None], None]
UNTAGGED = "<none>@"


class BuildOptions(NamedTuple):
    """What `minidock build` was asked: context, Dockerfile, tags, args, target, cache and time."""

    context: Path
    dockerfile: Path | None = None
    dockerfile_text: str | None = None
    tags: tuple[str, ...] = ()
    build_args: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    target: str = ""
    no_cache: bool = False
    platform: str = ""
    source_date_epoch: int | None = None
    secrets: tuple[Secret, ...] = ()
    pull: bool = False  # --pull: pull every base image even when the store has it
    contexts: tuple[tuple[str, str], ...] = ()  # --build-context NAME=DIR|docker-image://REF
    record: bool = True  # False with -o: no image is named (BuildKit exports the file system instead)
    network: NetTarget = NONE
    add_hosts: tuple[str, ...] = ()
    ssh: "tuple[SshSource, ...]" = ()  # --ssh: the agents RUN --mount=type=ssh may use


class BuildResult(NamedTuple):
    """The built image: id (config digest), manifest descriptor, the names it got, its config."""

    image_id: Digest
    manifest: Descriptor
    names: tuple[str, ...]
    config: ImageConfig
    chain: Digest | None = None  # the top layer's chain ID (None for an empty scratch image)


def read_dockerfile(options: BuildOptions) -> tuple[str, str]:
    """(text, name for messages) of the Dockerfile: given text, -f path, or CONTEXT/Dockerfile."""
    if options.dockerfile_text is not None:
        return options.dockerfile_text, "Dockerfile"
    path = options.dockerfile or options.context / "Dockerfile"
    try:
        return path.read_text(encoding="utf-8"), path.name
    except FileNotFoundError as e:
        raise UsageError(f"dockerfile {path}: no such file") from e
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"dockerfile {path}: cannot read: {e}") from e


def parse_tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    """Normalised names for -t values (a digest is not a tag)."""
    out = []
    for tag in tags:
        ref = Reference.parse(tag)
        if ref.digest is not None:
            raise UsageError(f"invalid tag {tag}: a tag cannot contain a digest")
        out.append(str(ref))
    return tuple(out)


def build(store: Store, options: BuildOptions, progress: Progress = no_progress,
          pull: Puller | None = None) -> BuildResult:
    """Build the image `options` describe into `store`; see the module docstring."""
    started = time.monotonic()
    text, filename = read_dockerfile(options)
    df = parse_dockerfile(text, filename)
    names = parse_tags(options.tags)
    for w in df.warnings:
        progress(BuildNote(f"warning: {w}"))
    progress(Internal(f"load build definition from {filename}", f"transferring dockerfile: {len(text.encode())}B"))
    run = _Run(store, options, df, filename, progress=progress, pull=pull)
    run.announce()
    try:
        state = run.build_target()
    finally:
        run.session.cache.put_many(run.session.recorded)
    result = _finish(store, options, state, names)
    _warn_unused(run.session, options, progress)
    progress(BuildFinished(result.image_id, result.manifest.digest, result.names, time.monotonic() - started,
                           options.record))
    return result


def _finish(store: Store, options: BuildOptions, state: StageState, names: tuple[str, ...]) -> BuildResult:
    """Labels from --label, config and manifest blobs, then the tags (the last act)."""
    if options.labels:
        state.set_cc(labels={**state.cc.labels, **dict(options.labels)})
    if options.source_date_epoch is not None:
        created = rfc3339(options.source_date_epoch)
    else:
        created = state.config.history[-1].created if state.config.history else rfc3339(time.time())
    state.config = state.config._replace(created=created)
    manifest, config_digest = write_image(store, state, created)
    if not options.record:
        return BuildResult(config_digest, manifest, (), state.config, state.chain)
    record_image(store, manifest, names, created)
    return BuildResult(config_digest, manifest, names, state.config, state.chain)


def untagged_name(manifest: Digest) -> str:
    """The record name of an image built or loaded without a tag (the loader's convention)."""
    return f"{UNTAGGED}{manifest}"


def record_image(store: Store, manifest: Descriptor, names: tuple[str, ...], created: str) -> None:
    """Name the built image: its tags (dropping an untagged placeholder), else `<none>@<manifest digest>`
    unless some record already names that manifest (so it can be run by id and listed as <none>)."""
    placeholder = untagged_name(manifest.digest)
    existing = {r.name: r for r in store.images.list()}
    for name in names:
        record = ImageRecord(name=name, target=manifest, created=created)
        if existing.get(name) != record:  # a rebuild that changed nothing leaves images.json as it is
            store.images.put(record)
    if names:
        if placeholder in existing:
            with contextlib.suppress(ImageNotFoundError):
                store.images.remove(placeholder)
    elif not any(r.target.digest == manifest.digest for r in existing.values()):
        store.images.put(ImageRecord(name=placeholder, target=manifest, created=created))


def _warn_unused(s: Session, options: BuildOptions, progress: Progress) -> None:
    from minidock.builder.state import PROXY_ARGS

    unused = sorted(k for k, _ in options.build_args if k not in s.used_args and k not in PROXY_ARGS)
    if unused:
        progress(BuildNote(f"[Warning] One or more build-args {unused} were not consumed"))


_VERTICES = (From, Run, Copy, Add, Workdir)


def _shown_base(name: str) -> str:
    """A base image as BuildKit shows it (`docker.io/library/busybox`, the tag only when given)."""
    if name.lower() == "scratch":
        return name
    try:
        ref = Reference.parse(name)
    except MinidockError:
        return name
    shown = str(ref)
    return shown.removesuffix(":latest") if ref.digest is None and not name.endswith(":latest") else shown


def _shown_text(text: str, env: dict[str, str], escape: str) -> str:
    """A step as BuildKit shows it: variables expanded, quotes and escapes kept (`RUN echo "hello world"`)."""
    from minidock.builder.expand import LexOptions, process_text

    try:
        return process_text(text, env, LexOptions(escape=escape, raw_quotes=True, raw_escapes=True))
    except ExpandError:
        return text


class _Run:
    """One build in progress: numbering, error prefixes, and the stage builder."""

    def __init__(self, store: Store, options: BuildOptions, df: Dockerfile, filename: str, *,
                 progress: Progress, pull: Puller | None) -> None:
        self.df, self.filename, self.options = df, filename, options
        context = ContextTree.open(options.context, options.dockerfile)
        self.session = Session(store=store, cache=BuildCache(store, enabled=not options.no_cache),
                               context=context, progress=progress, escape=df.escape,
                               epoch=options.source_date_epoch, build_args=dict(options.build_args),
                               secrets={x.id: x for x in options.secrets})
        self.session.contexts = dict(options.contexts)
        self.session.ssh = {x.id: x for x in options.ssh}
        self.session.network, self.session.add_hosts = options.network, options.add_hosts
        self.refs = StageRefs(df, options.platform, self.session)
        self.stages = StageBuilder(self.session, self.refs, pull, self.step)
        self.stages.pull_always = options.pull
        self.total = sum(1 + len(df.stages[i].instructions) for i in self.refs.needed(options.target))
        self.vertices = [0] * len(df.stages)  # BuildKit's per-stage step counters ([2/4])
        self.shown_bases: set[str] = set()

    def announce(self) -> None:
        """BuildKit's `[internal]` steps: the .dockerignore, then the metadata of every base image."""
        ignore = self.session.context.ignore_size
        self.session.progress(Internal("load .dockerignore", f"transferring context: {ignore}B" if ignore else ""))
        refs: list[str] = []
        for i in self.refs.needed(self.options.target):
            try:
                stage = self.df.stages[i]
                if not self._from_image(stage):
                    continue
                name = self.refs.base_name(stage)
                ref = str(Reference.parse(self.session.contexts.get(name, name).removeprefix("docker-image://")))
            except MinidockError:
                continue  # the step itself reports it, naming its line
            if ref not in refs:
                refs.append(ref)
        for ref in refs:
            self.session.progress(Internal(f"load metadata for {ref}"))

    def build_target(self) -> StageState:
        if not self.df.stages:
            raise DockerfileError(f"{self.filename}: no FROM instruction (the file is empty)")
        target = self.refs.target_index(self.options.target)
        for i in self.refs.needed(self.options.target):
            self.stages.build(i)
        return self.stages.built[target]

    def _vertex(self, stage: Stage, inst: Instruction, text: str) -> tuple[str, str]:
        """BuildKit's label and text of a step (`[builder 2/4] COPY a /a`); ("", text) for metadata steps."""
        from_image = self._from_image(stage)
        if not isinstance(inst, _VERTICES) or (isinstance(inst, From) and not from_image):
            return "", text  # BuildKit shows no step for FROM scratch or FROM <stage>, and does not count one
        total = from_image + sum(isinstance(i, _VERTICES) for i in stage.instructions)
        self.vertices[stage.position] += 1
        label = f"{self.vertices[stage.position]:>{len(str(total))}}/{total}"
        if len(self.df.stages) > 1:
            label = f"{stage.name or f'stage-{stage.position}'} {label}"
        if isinstance(inst, From):
            text = "FROM " + _shown_base(self.refs.base_name(stage))
            if text in self.shown_bases:
                return "", text  # BuildKit solves (and shows) the same base image once per build
            self.shown_bases.add(text)
        elif self.stages.state is not None and "$" in text:
            text = _shown_text(text, self.stages.state.expansion_env(), self.df.escape)
        return label, text

    def _from_image(self, stage: Stage) -> bool:
        name = self.refs.base_name(stage)
        named = self.session.contexts.get(name, "")
        if named:
            return named.startswith("docker-image://")
        return name.lower() != "scratch" and self.refs.index_of(name, stage.position) is None

    def step(self, stage: Stage, inst: Instruction, action: Callable[[], bool]) -> None:
        """Number, announce, time and run one step; errors name the step or the Dockerfile line."""
        s = self.session
        s.number += 1
        number = s.number
        label = stage.name or str(stage.position)
        text = inst.original.split("\n", 1)[0]
        s.progress(StepStarted(number, self.total, label, text, *self._vertex(stage, inst, text)))
        t0 = time.monotonic()
        try:
            cached = action()
        except RunFailedError as e:
            why = f" (network unreachable or DNS failed; the step had network {e.network})" if e.net_failed else ""
            raise BuildError(f"build: step {number}/{self.total} {text}: exit code {e.code}{why}") from e
        except ExpandError as e:
            raise DockerfileError(f"{self.filename}:{inst.line}: {e}") from e
        except DockerfileError:
            raise
        except MinidockError as e:
            raise BuildError(f"{self.filename}:{inst.line}: {text}: {e}") from e
        s.progress(StepDone(number, time.monotonic() - t0, cached))
