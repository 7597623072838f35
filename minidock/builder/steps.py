"""Executing one instruction of a stage: ARG, WORKDIR, RUN and the metadata ones (COPY/ADD: copystep).

`execute(session, state, inst)` applies the instruction to the stage and records it (cache key,
layer, history) through `record_step`; it returns True when the cache provided the result.
RUN is the runstep module's: a command that exits non-zero raises `RunFailedError` (carrying the
exit code); the builder names the step in the message.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from pathlib import Path

from minidock.builder import copystep, runstep
from minidock.builder.instructions import Add, Arg, Copy, Instruction, Run, Workdir
from minidock.builder.meta import META_TYPES, apply_meta
from minidock.builder.rootfs import copy_up_parents
from minidock.builder.runstep import RunFailedError, run_argv
from minidock.builder.session import Session, record_step, view_of
from minidock.builder.state import StageState
from minidock.errors import BuildError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidock.builder.layer import Layer

__all__ = ["RunFailedError", "execute", "run_argv"]


def execute(s: Session, state: StageState, inst: Instruction) -> bool:
    """Apply and record one instruction; True when it came from the cache."""
    if isinstance(inst, Run):
        return runstep.run(s, state, inst)
    if isinstance(inst, Copy | Add):
        return copystep.copy(s, state, inst)
    if isinstance(inst, Workdir):
        return _workdir(s, state, inst)
    if isinstance(inst, Arg):
        text = _arg(s, state, inst)
        return record_step(s, state, ["ARG", inst.original], text, None)
    if isinstance(inst, META_TYPES):
        text = apply_meta(inst, state, s.expander(state))
        return record_step(s, state, [text], text, None)
    raise BuildError(f"{type(inst).__name__.upper()} is not allowed here")


def _arg(s: Session, state: StageState, inst: Arg) -> str:
    """Declare ARGs: --build-arg wins, then the default, then the global ARG's value; returns the
    history text (`ARG NAME` or `ARG NAME=default`, as BuildKit)."""
    expand = s.expander(state)
    shown = []
    for name, default in inst.pairs:
        value: str | None
        if name in s.build_args:
            value = s.build_args[name]
        elif default is not None:
            value = expand(default)
        else:
            value = s.global_args.get(name)
        s.used_args.add(name)
        # why: BuildKit's history shows the Dockerfile's (expanded) default, never a --build-arg value
        shown.append(name if default is None else f"{name}={expand(default)}")
        if value is not None:
            state.args[name] = value
    return "ARG " + " ".join(shown)


def _workdir(s: Session, state: StageState, inst: Workdir) -> bool:
    """Set the working directory; create it (a small layer) when the image lacks it."""
    path = s.expander(state)(inst.path)
    if not path:
        raise BuildError("WORKDIR cannot be empty")
    wd = posixpath.normpath(posixpath.join(state.cc.working_dir or "/", path))
    wd = "/" + wd.lstrip("/")
    state.set_cc(working_dir=wd)
    view = view_of(s.store, state.chain)
    make: Callable[[], Layer] | None = None
    if not view.is_dir(wd):
        def make() -> Layer:
            from minidock.builder.layer import commit_layer, discard, new_layer  # lazy: only a cache miss writes

            key = new_layer(s.store, state.chain)
            try:
                host = copy_up_parents(view, Path(s.store.snapshots.upper(key)), view.canonical(wd) + "/x").parent
                host.mkdir(mode=0o755, exist_ok=True)
                return commit_layer(s.store, key, state.chain, s.epoch)
            except BaseException:
                discard(s.store, key)
                raise
    return record_step(s, state, ["WORKDIR", wd], f"WORKDIR {wd}", make)
