"""Stages: which ones the target needs, what FROM and `--from` name, and building one stage.

`StageRefs` is pure: global ARGs (+ BuildKit's platform ARGs), stage names and indexes, the
dependency closure of the target. `StageBuilder.build(i)` makes stage i's state: FROM (scratch,
an earlier stage, or an image from the store, pulled when missing), the base image's ONBUILD
triggers, then each instruction through the run's `step` wrapper.
"""

from __future__ import annotations

from collections.abc import Callable

from minidock.builder import steps
from minidock.builder.cache import step_key
from minidock.builder.context import LayerTree, Tree
from minidock.builder.expand import expand_word
from minidock.builder.instructions import Copy, Dockerfile, Instruction, Run, Stage, parse_dockerfile
from minidock.builder.session import Session, view_of
from minidock.builder.state import DEFAULT_SHELL, StageState, base_state, scratch_state
from minidock.errors import BuildError, DockerfileError, ImageNotFoundError, ManifestError
from minidock.image.reference import Reference
from minidock.oci.descriptor import Platform
from minidock.oci.imageconfig import ImageConfig
from minidock.oci.manifest import Manifest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidock.builder.builder import Puller

IMAGE_SCHEME = "docker-image://"
StepRunner = Callable[[Stage, Instruction, Callable[[], bool]], None]


class StageRefs:
    """Names and dependencies of the stages of one Dockerfile, and the global ARG values."""

    def __init__(self, df: Dockerfile, platform: str, s: Session) -> None:
        self.df = df
        self.platform = Platform.parse(platform) if platform else Platform.host()
        host = Platform.host()
        env = {"TARGETPLATFORM": str(self.platform), "TARGETOS": self.platform.os,
               "TARGETARCH": self.platform.architecture, "TARGETVARIANT": self.platform.variant,
               "BUILDPLATFORM": str(host), "BUILDOS": host.os, "BUILDARCH": host.architecture,
               "BUILDVARIANT": host.variant}
        for arg in df.global_args:
            for name, default in arg.pairs:
                if name in s.build_args:
                    env[name] = s.build_args[name]
                elif default is not None:
                    env[name] = expand_word(default, env, df.escape)
                s.used_args.add(name)
        self.env = env
        self.contexts = s.contexts
        s.global_args = dict(env)

    def index_of(self, name: str, before: int | None = None) -> int | None:
        """The index of the stage called `name` (or numbered so) that comes before `before`.

        A `--build-context` of that name hides the stage (BuildKit: a named context overrides it)."""
        if name in self.contexts:
            return None
        limit = len(self.df.stages) if before is None else before
        for st in self.df.stages[:limit]:
            if st.name and st.name == name.lower():
                return st.position
        if name.isdigit() and int(name) < limit:
            return int(name)
        return None

    def target_index(self, target: str) -> int:
        if not target:
            return len(self.df.stages) - 1
        idx = self.index_of(target)
        if idx is None:
            raise BuildError(f"target stage {target!r} could not be found")
        return idx

    def base_name(self, stage: Stage) -> str:
        return expand_word(stage.base.image, self.env, self.df.escape)

    def _deps(self, stage: Stage) -> set[int]:
        deps = set()
        base = self.index_of(self.base_name(stage), stage.position)
        if base is not None:
            deps.add(base)
        for inst in stage.instructions:
            names = [inst.from_] if isinstance(inst, Copy) and inst.from_ else []
            if isinstance(inst, Run):  # RUN --mount=type=bind,from=stage
                names += [m.from_ for m in inst.mounts if m.from_]
            for name in names:
                idx = self.index_of(expand_word(name, self.env, self.df.escape), stage.position)
                if idx is not None:
                    deps.add(idx)
        return deps

    def needed(self, target: str) -> list[int]:
        """The stages the target depends on (itself included), in Dockerfile order."""
        todo, seen = [self.target_index(target)], set()
        while todo:
            i = todo.pop()
            if i not in seen:
                seen.add(i)
                todo += self._deps(self.df.stages[i])
        return sorted(seen)


class StageBuilder:
    """Builds stages on demand and remembers their states (for FROM stage and COPY --from)."""

    def __init__(self, s: Session, refs: StageRefs, pull: Puller | None, step: StepRunner) -> None:
        self.s, self.refs, self.pull, self.step = s, refs, pull, step
        self.built: dict[int, StageState] = {}
        self.current = 0
        self.state: StageState | None = None  # the stage whose instruction is about to run (for its display)
        self.pull_always = False  # --pull: every base image is pulled once per build, even when stored
        self.pulled: set[str] = set()
        s.source_for = self.source_for

    def build(self, i: int) -> StageState:
        if i in self.built:
            return self.built[i]
        stage = self.refs.df.stages[i]
        previous, self.current = self.current, i
        holder: list[StageState] = []
        self.step(stage, stage.base, lambda: self._from(stage, holder))
        state = holder[0]
        outer, self.state = self.state, state
        for inst in stage.instructions:
            self.state = state  # a stage built inside the step before (COPY --from) may have replaced it
            self.step(stage, inst, lambda inst=inst: steps.execute(self.s, state, inst))  # type: ignore[misc]
        self.built[i] = state
        self.current, self.state = previous, outer
        return state

    def _from(self, stage: Stage, holder: list[StageState]) -> bool:
        name = self.refs.base_name(stage)
        named = self.s.contexts.get(name, "")
        name = named.removeprefix(IMAGE_SCHEME) if named.startswith(IMAGE_SCHEME) else name
        plat = expand_word(stage.base.platform, self.refs.env, self.refs.df.escape) if stage.base.platform else ""
        platform = Platform.parse(plat) if plat else self.refs.platform
        epoch = str(self.s.epoch)
        idx = self.refs.index_of(name, stage.position)
        triggers: tuple[str, ...] = ()
        if name.lower() == "scratch":
            state = scratch_state(platform, step_key("scratch", str(platform), epoch))
        elif named and not named.startswith(IMAGE_SCHEME):
            from minidock.builder.namedctx import directory_state  # lazy: only FROM a --build-context dir

            state = directory_state(self.s, named, platform, epoch)
        elif idx is not None:
            src = self.build(idx)
            state = StageState(config=src.config, layers=list(src.layers), chain=src.chain,
                               key=step_key("stage", src.key, epoch), shell=src.shell)
        else:
            config, manifest = self.image(name, platform)
            state = base_state(config, manifest.layers, step_key("image", str(manifest.config.digest), epoch))
            state.shell = config.config.shell or DEFAULT_SHELL
            triggers = config.config.onbuild
        self._check_platform(state, stage)
        holder.append(state)
        for trigger in triggers:
            steps.execute(self.s, state, _trigger(trigger, stage))
        return False

    def _check_platform(self, state: StageState, stage: Stage) -> None:
        host = Platform.host()
        cfg = state.config
        ok = cfg.os in ("linux", "") and cfg.architecture in (host.architecture, "")
        self.s.run_platform_error = "" if ok else (
            f"cannot RUN in stage {stage.name or stage.position}: its platform {cfg.os}/{cfg.architecture} "
            f"is not this host's ({host})")

    def image(self, name: str, platform: Platform | None) -> tuple[ImageConfig, Manifest]:
        """An image's config and manifest from the store, pulled when missing (or the wrong platform)."""
        store = self.s.store
        ref = Reference.parse(name)
        rec = store.images.find(str(ref))
        if self.pull_always and self.pull is not None and str(ref) not in self.pulled:
            self.pulled.add(str(ref))
            rec = None
        if rec is not None:
            manifest = store.images.manifest(rec)
            config = ImageConfig.from_bytes(store.content.read(manifest.config.digest), f"image {name}")
            if platform is None or config.architecture == platform.architecture:
                return config, manifest
        if self.pull is None:
            raise ImageNotFoundError(f"image {name}: not found (pull it first)")
        self.pull(ref, platform)
        rec = store.images.find(str(ref))
        if rec is None:
            raise ImageNotFoundError(f"image {name}: not found after pull")
        manifest = store.images.manifest(rec)
        config = ImageConfig.from_bytes(store.content.read(manifest.config.digest), f"image {name}")
        if config.diff_ids and not store.snapshots.exists(config.chain_ids()[-1]):
            raise ManifestError(f"image {name}: its layers are not unpacked in the store")
        return config, manifest

    def source_for(self, name: str) -> tuple[Tree, str]:
        """COPY --from=NAME: a --build-context, an earlier stage (by name or number) or an image."""
        named = self.s.contexts.get(name, "")
        if named.startswith(IMAGE_SCHEME):
            name = named.removeprefix(IMAGE_SCHEME)
        elif named:
            from minidock.builder.namedctx import directory_tree  # lazy: only with a --build-context dir

            return directory_tree(named), f"context {name}"
        idx = self.refs.index_of(name, self.current)
        if idx is not None:
            src = self.build(idx)
            return LayerTree(view_of(self.s.store, src.chain)), f"stage {src.key} {src.chain}"
        try:
            config, manifest = self.image(name, None)
        except (ImageNotFoundError, DockerfileError) as e:
            raise LookupError(name) from e
        chains = config.chain_ids()
        return LayerTree(view_of(self.s.store, chains[-1] if chains else None)), f"image {manifest.config.digest}"


def _trigger(text: str, stage: Stage) -> Instruction:
    """An ONBUILD trigger as a typed instruction (numbered as the FROM line)."""
    parsed = parse_dockerfile(f"FROM scratch\n{text}\n", "ONBUILD")
    if not parsed.stages or len(parsed.stages[0].instructions) != 1:
        raise DockerfileError(f"invalid ONBUILD trigger {text!r}")
    return parsed.stages[0].instructions[0]._replace(line=stage.base.line)
