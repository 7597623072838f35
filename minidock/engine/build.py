"""Building and image history for the CLI: flags -> BuildOptions -> builder, and back.

`build_image(req, progress)` reads SOURCE_DATE_EPOCH, resolves `--build-arg NAME` from the
environment, wires pulling of missing base images, and with `--verify-reproducible` builds a
second time without the cache and compares the manifest digests. `image_history()` lists an
image's history newest first as `docker history` does (`commit` lives in engine/commit.py).
`builder prune` is engine/cacheprune.py.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from minidock.builder.builder import BuildOptions, BuildResult, Puller, build
from minidock.builder.buildnet import HOST, NONE, NetTarget, reclaim_cgroups
from minidock.builder.buildnet import reclaim as reclaim_network
from minidock.builder.events import (
    BuildEvent,
    BuildFinished,
    BuildNote,
    Exported,
    Internal,
    Progress,
    StepDone,
    StepOutput,
    StepStarted,
    no_progress,
)
from minidock.builder.session import Secret
from minidock.config import Settings
from minidock.engine.lookup import load_image, open_store
from minidock.errors import BuildError, MinidockError, UsageError
from minidock.image.reference import Reference
from minidock.nouns import NamedTuple
from minidock.oci.descriptor import Platform
from minidock.paths import Paths
from minidock.store.gc import lease
from minidock.store.store import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO

    from minidock.builder.export import Output
    from minidock.builder.sshagent import SshSource

__all__ = ["BuildEvent", "BuildFinished", "BuildNote", "BuildRequest", "BuildResult", "Exported",
           "HistoryRow", "Internal", "Secret", "StepDone", "StepOutput", "StepStarted",
           "build_image", "familiar_name", "image_history", "no_progress", "parse_secret"]


class BuildRequest(NamedTuple):
    """`minidock build` flags as the user typed them."""

    context: str
    file: str = ""
    dockerfile_text: str | None = None
    tags: tuple[str, ...] = ()
    build_args: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    target: str = ""
    no_cache: bool = False
    platform: str = ""
    verify_reproducible: bool = False
    secrets: tuple[str, ...] = ()
    context_data: bytes | None = None  # `build -`: stdin (a Dockerfile, or a context tar)
    iidfile: str = ""
    pull: bool = False
    outputs: tuple[str, ...] = ()  # -o specs (buildx syntax); at most one
    build_contexts: tuple[str, ...] = ()  # --build-context NAME=DIR|docker-image://REF
    network: str = ""
    add_hosts: tuple[str, ...] = ()
    ssh: tuple[str, ...] = ()  # --ssh ID[=SOCKET|KEYS]


def familiar_name(name: str) -> str:
    """Docker's short form of a stored image name (`docker.io/library/app:1` -> `app:1`)."""
    return Reference.parse(name).familiar()


def _pairs(items: tuple[str, ...], flag: str, env: dict[str, str] | None) -> tuple[tuple[str, str], ...]:
    """`K=V` words (a bare `K` takes the value from `env` when given, else is skipped)."""
    out = []
    for item in items:
        key, eq, value = item.partition("=")
        if not key:
            raise UsageError(f"invalid {flag} {item!r}: want KEY=VALUE")
        if eq:
            out.append((key, value))
        elif env is not None and key in env:
            out.append((key, env[key]))
    return tuple(out)


def _epoch(env: dict[str, str]) -> int | None:
    text = env.get("SOURCE_DATE_EPOCH", "")
    if not text:
        return None
    if not text.isdigit():
        raise UsageError(f"invalid SOURCE_DATE_EPOCH {text!r}: want seconds since 1970")
    return int(text)


def parse_secret(spec: str, env: dict[str, str]) -> Secret:
    """`id=X,src=FILE` (or `source=`), `id=X,env=VAR`, or `id=X` alone (env var X, else file X) as buildx."""
    fields: dict[str, str] = {}
    for item in spec.split(","):
        key, eq, value = item.strip().partition("=")
        if not eq or key not in ("id", "src", "source", "env", "type"):
            raise UsageError(f"invalid --secret {spec!r}: want id=ID,src=FILE or id=ID,env=VAR")
        fields[key] = value
    secret_id = fields.get("id", "")
    src = fields.get("src") or fields.get("source", "")
    if not secret_id:
        raise UsageError(f"invalid --secret {spec!r}: an id is required")
    if fields.get("env"):
        return Secret(secret_id, env=fields["env"])
    if not src and secret_id in env:
        return Secret(secret_id, env=secret_id)
    src = src or secret_id
    if not Path(src).is_file():
        raise UsageError(f"secret {secret_id}: {src}: no such file")
    return Secret(secret_id, src=str(Path(src).resolve()))


def build_network(value: str, paths: Paths) -> NetTarget:
    """`build --network`: default/bridge (the default bridge, as Docker), none, host or a user network NAME.

    Reads the network's config only (no kernel object is touched until a RUN misses the cache)."""
    if value in ("none", "host"):
        return NONE if value == "none" else HOST
    if value.startswith("container:"):
        raise UsageError(f"invalid --network {value}: a build cannot join a container's network")
    if value in ("", "default", "bridge") and (known := _default_network(paths)) is not None:
        return known
    from minidock.engine import networks

    mode = networks.lookup("bridge" if value in ("", "default") else value, paths)
    if mode.network is None:
        raise UsageError(f"network {value}: cannot be joined by builds")
    cfg = mode.network
    return NetTarget("bridge", cfg.name, cfg.bridge, cfg.subnet, paths.networks)


def _default_network(paths: Paths) -> NetTarget | None:
    """The store's `bridge` network from its networks.json (runtime/net/netconfig's file) read directly: a
    cached build imports no network code (~3 ms). None when it is not recorded yet (then `lookup` makes it)."""
    import json  # lazy: as light as it gets, and already loaded by the store

    try:
        raw = json.loads(Path(paths.networks, "networks.json").read_bytes()).get("bridge") or {}
    except (OSError, ValueError, AttributeError):
        return None
    if raw.get("driver", "bridge") != "bridge" or not raw.get("bridge") or not raw.get("subnet"):
        return None
    return NetTarget("bridge", "bridge", str(raw["bridge"]), str(raw["subnet"]), paths.networks)


def _add_hosts(items: tuple[str, ...]) -> tuple[str, ...]:
    """`--add-host NAME:IP` lines, checked now (a bad one fails before anything runs)."""
    if items:
        from minidock.runtime.net.netfiles import parse_add_host

        for item in items:
            parse_add_host(item)
    return items


def _platform(text: str) -> str:
    """--platform as containerd reads it: `os/arch[/variant]`, or an OS alone (`linux`: this machine's
    architecture) or an architecture alone (`arm64`: linux/arm64)."""
    if not text:
        return ""
    if "/" not in text:
        host = Platform.host()
        text = f"{text}/{host.architecture}" if text in ("linux", "windows", "darwin") else f"linux/{text}"
    try:
        Platform.parse(text)
    except MinidockError as e:
        raise UsageError(f"invalid --platform {text!r}: want os/arch[/variant]") from e
    return text


def options_of(req: BuildRequest, env: dict[str, str]) -> BuildOptions:
    """The builder's options for a request (paths resolved, args and labels parsed; the network is
    build_image's: see build_network)."""
    context = Path(req.context)
    dockerfile = Path(req.file) if req.file and req.dockerfile_text is None else None
    platform = _platform(req.platform)
    contexts: tuple[tuple[str, str], ...] = ()
    if req.build_contexts:
        from minidock.engine.buildinput import parse_contexts  # lazy: only --build-context

        contexts = parse_contexts(req.build_contexts)
    return BuildOptions(context=context, dockerfile=dockerfile, dockerfile_text=req.dockerfile_text,
                        tags=req.tags, build_args=_pairs(req.build_args, "--build-arg", env),
                        labels=_pairs(req.labels, "--label", None), target=req.target, no_cache=req.no_cache,
                        platform=platform, source_date_epoch=_epoch(env),
                        secrets=tuple(parse_secret(x, env) for x in req.secrets), pull=req.pull, contexts=contexts,
                        add_hosts=_add_hosts(req.add_hosts), ssh=_ssh(req.ssh, env))


def _ssh(specs: tuple[str, ...], env: dict[str, str]) -> tuple[SshSource, ...]:
    if not specs:
        return ()
    from minidock.builder.sshagent import parse_ssh  # lazy: only --ssh

    return tuple(parse_ssh(x, env) for x in specs)


def _output(req: BuildRequest) -> Output | None:
    """The one `-o` of the request (None: the image, as without -o); checked before anything is built."""
    if not req.outputs:
        return None
    from minidock.builder.export import IMAGE, check_output, parse_output  # lazy: only -o

    if len(req.outputs) > 1:
        raise UsageError(f"-o: only one output is supported, got {len(req.outputs)}")
    output = parse_output(req.outputs[0])
    if output.kind == IMAGE:
        return None
    check_output(output)
    return output


def _export(store: Store, result: BuildResult, output: Output, progress: Progress,
            stdout: BinaryIO | None) -> None:
    from minidock.builder.export import export

    t0 = time.monotonic()
    export(store, result.chain, output, stdout)
    progress(Exported(output.kind, output.dest, time.monotonic() - t0))


def _puller(store: Store, progress: Progress) -> Puller:
    settings = Settings.load()

    def pull(ref: Reference, platform: Platform | None) -> None:
        from minidock.image.pull import pull as do_pull

        progress(BuildNote(f"pulling {ref.familiar()}"))
        do_pull(ref, store, settings, platform)
    return pull


def build_image(req: BuildRequest, progress: Progress = no_progress, paths: Paths | None = None,
                stdout: BinaryIO | None = None) -> BuildResult:
    """`minidock build`: build into the store at $MINIDOCK_ROOT (or `paths`); `-o -` writes to `stdout`."""
    if req.context != "-" or req.context_data is None:
        return _build_request(req, progress, paths, stdout)
    from minidock.engine.buildinput import stdin_context  # lazy: only `build -`

    store_paths = paths or Paths.from_env()
    with stdin_context(req.context_data, store_paths) as (context, text):
        if text is not None and req.dockerfile_text is None:
            req = req._replace(dockerfile_text=text)
        elif req.file:
            req = req._replace(file=str(context / req.file.lstrip("/")))
        return _build_request(req._replace(context=str(context), context_data=None), progress, paths, stdout)


def _build_request(req: BuildRequest, progress: Progress, paths: Paths | None,
                   stdout: BinaryIO | None) -> BuildResult:
    opts = options_of(req, dict(os.environ))
    output = _output(req)
    if output is not None:
        opts = opts._replace(record=False)
        if output.dest == "-" and (stdout is None or stdout.isatty()):
            raise UsageError("-o -: refusing to write a tar to a terminal: redirect stdout or use dest=FILE")
    if req.verify_reproducible and opts.source_date_epoch is None:
        opts = opts._replace(source_date_epoch=0)  # reproducible output needs fixed timestamps
    if req.iidfile:
        from minidock.engine.buildinput import remove_iidfile  # lazy: only --iidfile

        remove_iidfile(req.iidfile)
    store = open_store(paths)
    opts = opts._replace(network=build_network(req.network, store.paths))
    reclaim_network(opts.network)  # what a killed build left (its lease, its RUN cgroup) goes first
    reclaim_cgroups()
    pull = _puller(store, progress)
    with lease(store.paths):  # layers written before the image is recorded survive a concurrent prune
        first = build(store, opts, progress, pull)
        if output is not None:
            _export(store, first, output, progress, stdout)
        if req.iidfile:
            from minidock.engine.buildinput import write_iidfile

            write_iidfile(req.iidfile, "" if output is not None else str(first.image_id))  # -o: Docker's empty file
        if not req.verify_reproducible:
            return first
        progress(BuildNote("verifying: building again without the cache"))
        second = build(store, opts._replace(no_cache=True, tags=()), progress, pull)
    if second.manifest.digest != first.manifest.digest:
        raise BuildError(f"build is not reproducible: first {first.manifest.digest}, "
                         f"then {second.manifest.digest}")
    progress(BuildNote(f"reproducible: {first.manifest.digest}"))
    return first


class HistoryRow(NamedTuple):
    """One line of `docker history`: image id (or <missing>), created, created by, size, comment."""

    image: str
    created: str
    created_by: str
    size: int
    comment: str = ""
    empty_layer: bool = False


def image_history(name: str, paths: Paths | None = None) -> list[HistoryRow]:
    """The history of image `name`, newest first; layer sizes are the unpacked snapshot sizes."""
    store = open_store(paths)
    img = load_image(store, name)
    chains = img.config.chain_ids()
    rows, layer = [], 0
    for h in img.config.history:
        size = 0
        if not h.empty_layer and layer < len(chains):
            chain = chains[layer]
            size = store.snapshots.size(chain) if store.snapshots.exists(chain) else img.manifest.layers[layer].size
            layer += 1
        rows.append(HistoryRow("<missing>", h.created, h.created_by, size, h.comment, h.empty_layer))
    rows.reverse()
    if rows:
        rows[0] = rows[0]._replace(image=str(img.id))
    return rows
