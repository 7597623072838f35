"""The RUN step: argv, environment, network, mounts, cache key, and the container that makes the layer.

`run(s, state, inst)` records one RUN through `record_step`. Its key covers the command, the
visible ARGs (through history text), the network mode, the user and each `--mount`'s key text
(see runmounts). When the cache misses, a container runs on a new active snapshot with
/etc/hosts and /etc/resolv.conf bound from a scratch directory (never written into the layer),
then the mount points the runtime had to create are removed from the upper (stubs) and the layer
is committed. `--network=default` means none: builds have no bridge; `host` shares the host's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from minidock.builder import heredoc
from minidock.builder.events import StepOutput
from minidock.builder.instructions import Run
from minidock.builder.session import Session, record_step, view_of
from minidock.builder.state import PROXY_ARGS, StageState
from minidock.errors import BuildError

if TYPE_CHECKING:
    from pathlib import Path

    from minidock.builder.layer import Layer, RunRequest
    from minidock.builder.runmounts import Planned
    from minidock.oci.runtimespec import Mount


class RunFailedError(BuildError):
    """A RUN command exited non-zero; `code` is its exit status."""

    def __init__(self, code: int) -> None:
        super().__init__(f"exit code {code}")
        self.code = code


def run_argv(state: StageState, inst: Run) -> tuple[str, ...]:
    """The argv of a RUN: exec form as written; shell form (with heredoc bodies) through SHELL."""
    if inst.json:
        return inst.cmd
    text = " ".join(inst.cmd)
    docs = inst.heredocs
    if len(docs) == 1 and heredoc.parse_marker(text.strip()) is not None:
        return (*state.shell, docs[0].content)  # `RUN <<EOF`: the body is the script
    text += "".join(f"\n{d.content}{d.name}" for d in docs)
    return (*state.shell, text)


def network_files(scratch: Path, network: str, host_resolv: Path) -> tuple[Mount, ...]:
    """/etc/hosts and /etc/resolv.conf for a RUN container, written in `scratch` and bound read-only.

    `none`: loopback names and the host's resolvers minus loopback ones; `host`: the host's resolv.conf."""
    from minidock.builder.layer import HOSTNAME  # lazy: only a RUN that misses the cache runs a container
    from minidock.oci.runtimespec import Mount  # lazy: as above
    from minidock.runtime.net.netfiles import hosts_file, resolv_conf  # lazy: as above

    try:
        text = host_resolv.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    resolv = text if network == "host" and text else resolv_conf(text)
    (scratch / "hosts").write_text(hosts_file(HOSTNAME, "127.0.0.1"))
    (scratch / "resolv.conf").write_text(resolv)
    return (Mount("/etc/hosts", "bind", str(scratch / "hosts"), ("rbind", "ro")),  # why ro: BuildKit's are
            Mount("/etc/resolv.conf", "bind", str(scratch / "resolv.conf"), ("rbind", "ro")))


def run(s: Session, state: StageState, inst: Run) -> bool:
    """Run (or reuse) one RUN step; True when the cache provided it."""
    argv = run_argv(state, inst)
    args = state.visible_args()
    prefix = f"|{len(args)} " + " ".join(f"{k}={v}" for k, v in args) + " " if args else ""
    created_by = f"RUN {prefix}{' '.join(argv)} # buildkit"
    network = "host" if inst.network == "host" else "none"
    proxies = [f"{k}={v}" for k, v in s.build_args.items() if k in PROXY_ARGS and k not in state.args]
    env = (*state.run_env(), *proxies)
    cwd, user = state.cc.working_dir or "/", state.cc.user
    plans = _plan(s, state, inst)
    number = s.number

    def make() -> Layer:
        from minidock.builder.layer import RunRequest  # lazy: only a cache miss runs a container

        if s.run_platform_error:
            raise BuildError(s.run_platform_error)
        req = RunRequest(args=argv, env=env, cwd=cwd, user=user, network=network)
        return _make(s, state, req, plans, number)
    parts = ["RUN", created_by, network, state.cc.user, *(p.key for p in plans)]
    return record_step(s, state, parts, created_by, make)


def _plan(s: Session, state: StageState, inst: Run) -> list[Planned]:
    """The RUN's `--mount`s resolved (see runmounts.plan); none without `--mount` flags."""
    if not inst.mounts:
        return []
    from minidock.builder import runmounts  # lazy: only RUN --mount needs mount planning

    return runmounts.plan(s, state, inst)


def _make(s: Session, state: StageState, req: RunRequest, plans: list[Planned], number: int) -> Layer:
    """Run the container on a new snapshot; the layer is its upper without mount stubs."""
    # lazy: a fully cached build never runs a container, so none of this is imported then
    import shutil

    from minidock.builder import runmounts
    from minidock.builder.layer import commit_layer, discard, new_layer, run_in
    from minidock.builder.stubs import find_stubs, remove_stubs
    from minidock.oci.runtimespec import default_mounts
    from minidock.store.atomic import make_dir

    scratch = make_dir(s.store.paths.tmp, "runmounts-")  # owned: a killed build's scratch is reclaimed
    key = new_layer(s.store, state.chain)
    try:
        view = view_of(s.store, state.chain)
        with runmounts.materialize(plans, scratch) as mounts:
            extra = (*network_files(scratch, req.network, s.resolv_conf), *mounts)
            stubs = find_stubs(view, [m.destination for m in (*default_mounts(), *extra)])
            code = run_in(s.store, key, req._replace(mounts=extra), lambda data: s.progress(StepOutput(number, data)))
        if code != 0:
            raise RunFailedError(code)
        remove_stubs(s.store.snapshots.upper(key), view, stubs)
        return commit_layer(s.store, key, state.chain, s.epoch)
    except BaseException:
        discard(s.store, key)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
