"""Metadata instructions: how ENV, LABEL, EXPOSE, USER, CMD, ENTRYPOINT, VOLUME, STOPSIGNAL,
HEALTHCHECK, SHELL, ONBUILD and MAINTAINER change the image config (pure, no file system).

`apply_meta(inst, state, expand)` changes `state` and returns the history text BuildKit records
(`ENV A=b`, `CMD ["sh"]`). `expand` is the stage's `$VAR` expander (words -> word / words).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from minidock.builder.instructions import (
    Cmd,
    Entrypoint,
    Env,
    Expose,
    Healthcheck,
    Instruction,
    Label,
    Maintainer,
    Onbuild,
    Shell,
    Stopsignal,
    User,
    Volume,
)
from minidock.builder.state import StageState, set_env
from minidock.errors import BuildError

Expand = Callable[[str], str]
META_TYPES = (Env, Label, Expose, User, Cmd, Entrypoint, Volume, Stopsignal, Healthcheck, Shell, Onbuild,
              Maintainer)
_NS = 1_000_000_000


def _json(items: tuple[str, ...]) -> str:
    return json.dumps(list(items), separators=(",", ":"))


def command_of(state: StageState, cmd: tuple[str, ...], is_json: bool) -> tuple[str, ...]:
    """CMD/ENTRYPOINT/RUN words: exec form as given, shell form wrapped in the stage's SHELL."""
    return cmd if is_json else (*state.shell, " ".join(cmd))


def _env(inst: Env, state: StageState, expand: Expand) -> str:
    env = state.cc.env
    pairs = [(expand(k), expand(v)) for k, v in inst.pairs]
    for k, v in pairs:
        env = set_env(env, k, v)
    state.set_cc(env=env)
    return "ENV " + " ".join(f"{k}={v}" for k, v in pairs)


def _label(inst: Label, state: StageState, expand: Expand) -> str:
    pairs = [(expand(k), expand(v)) for k, v in inst.pairs]
    state.set_cc(labels={**state.cc.labels, **dict(pairs)})
    return "LABEL " + " ".join(f"{k}={v}" for k, v in pairs)


def normalize_port(port: str) -> str:
    """`80` -> `80/tcp`; `53/udp` kept; ranges and bad protocols raise."""
    num, _, proto = port.partition("/")
    proto = proto.lower() or "tcp"
    if proto not in ("tcp", "udp", "sctp"):
        raise BuildError(f"invalid port {port}: unknown protocol {proto}")
    low, _, high = num.partition("-")
    if not low.isdigit() or (high and not high.isdigit()) or not 0 < int(low) < 65536:
        raise BuildError(f"invalid port {port}")
    return f"{num}/{proto}"


def _expose(inst: Expose, state: StageState, expand: Expand) -> str:
    ports = [normalize_port(expand(p)) for p in inst.ports]
    state.set_cc(exposed_ports=tuple(sorted({*state.cc.exposed_ports, *ports})))
    return "EXPOSE " + " ".join(ports)


def _user(inst: User, state: StageState, expand: Expand) -> str:
    user = expand(inst.user)
    state.set_cc(user=user)
    return f"USER {user}"


def _cmd(inst: Cmd, state: StageState, expand: Expand) -> str:
    cmd = command_of(state, inst.cmd, inst.json)
    state.set_cc(cmd=cmd)
    state.cmd_set = True
    return f"CMD {_json(cmd)}"


def _entrypoint(inst: Entrypoint, state: StageState, expand: Expand) -> str:
    ep = command_of(state, inst.cmd, inst.json)
    state.set_cc(entrypoint=ep, **({} if state.cmd_set else {"cmd": None}))
    return f"ENTRYPOINT {_json(ep)}"


def _volume(inst: Volume, state: StageState, expand: Expand) -> str:
    paths = [expand(p) for p in inst.paths]
    if any(not p.strip() for p in paths):
        raise BuildError("VOLUME specified can not be an empty string")
    state.set_cc(volumes=tuple(sorted({*state.cc.volumes, *paths})))
    return "VOLUME [" + " ".join(paths) + "]"


def _stopsignal(inst: Stopsignal, state: StageState, expand: Expand) -> str:
    sig = expand(inst.signal)
    state.set_cc(stop_signal=sig)
    return f"STOPSIGNAL {sig}"


def _healthcheck(inst: Healthcheck, state: StageState, expand: Expand) -> str:
    if inst.none:
        state.set_cc(healthcheck={"Test": ["NONE"]})
        return "HEALTHCHECK NONE"
    test = ["CMD", *inst.cmd] if inst.json else ["CMD-SHELL", " ".join(inst.cmd)]
    hc: dict[str, object] = {"Test": test}
    for key, seconds in (("Interval", inst.interval), ("Timeout", inst.timeout),
                         ("StartPeriod", inst.start_period), ("StartInterval", inst.start_interval)):
        if seconds:
            hc[key] = round(seconds * _NS)
    if inst.retries:
        hc["Retries"] = inst.retries
    state.set_cc(healthcheck=hc)
    return f"HEALTHCHECK {_json(tuple(test))}"


def _shell(inst: Shell, state: StageState, expand: Expand) -> str:
    state.shell = inst.cmd
    state.set_cc(shell=inst.cmd)
    return f"SHELL {_json(inst.cmd)}"


def _onbuild(inst: Onbuild, state: StageState, expand: Expand) -> str:
    """The trigger keeps its heredoc bodies as written (BuildKit: `+= "\\n" + content + name`), so the child
    build parses and runs the whole instruction."""
    trigger = inst.expression + "".join(f"\n{d.content}{d.name}" for d in inst.heredocs)
    state.set_cc(onbuild=(*state.cc.onbuild, trigger))
    return f"ONBUILD {trigger}"


def _maintainer(inst: Maintainer, state: StageState, expand: Expand) -> str:
    state.config = state.config._replace(author=inst.name)
    return f"MAINTAINER {inst.name}"


_HANDLERS: dict[type, Callable[..., str]] = {
    Env: _env, Label: _label, Expose: _expose, User: _user, Cmd: _cmd, Entrypoint: _entrypoint,
    Volume: _volume, Stopsignal: _stopsignal, Healthcheck: _healthcheck, Shell: _shell, Onbuild: _onbuild,
    Maintainer: _maintainer,
}  # fmt: skip


def apply_meta(inst: Instruction, state: StageState, expand: Expand) -> str:
    """Apply a metadata instruction to `state`; returns its history text."""
    return _HANDLERS[type(inst)](inst, state, expand)
