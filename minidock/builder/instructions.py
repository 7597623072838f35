"""Typed Dockerfile instructions built from parsed nodes, grouped into build stages.

`parse_dockerfile(text, filename)` -> Dockerfile(global_args, stages, escape);
`parse_instructions(text, filename)` -> its stages (each stage also carries the global ARGs).
Flags are validated per instruction here. Variable expansion is NOT done here: the builder applies
`expand.py` at build time to the keywords in `EXPANDING_KEYWORDS`. Errors: DockerfileError(`FILE:LINE: reason`).
"""

import re
from collections.abc import Callable

from minidock.builder import heredoc
from minidock.builder.flags import FlagError, Flags, Mount, parse_duration, parse_flags, parse_mount
from minidock.builder.nodes import Heredoc, LineError, Node
from minidock.builder.parser import parse
from minidock.errors import DockerfileError
from minidock.nouns import NamedTuple

# Docker's list (ONBUILD triggers are expanded when they run, not when declared); ARG for defaults
EXPANDING_KEYWORDS = frozenset({"add", "arg", "copy", "env", "expose", "from", "label", "stopsignal", "user", "volume",
                                "workdir"})
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9\-_.]*$")
_NOT_TRIGGERS = ("onbuild", "from", "maintainer")


class From(NamedTuple):
    image: str
    name: str = ""
    platform: str = ""
    line: int = 0
    original: str = ""


class Run(NamedTuple):
    cmd: tuple[str, ...]
    json: bool = False
    mounts: tuple[Mount, ...] = ()
    network: str = ""
    security: str = ""
    heredocs: tuple[Heredoc, ...] = ()
    line: int = 0
    original: str = ""


class Copy(NamedTuple):
    sources: tuple[str, ...]
    dest: str
    chown: str = ""
    chmod: str = ""
    from_: str = ""
    link: bool = False
    parents: bool = False
    exclude: tuple[str, ...] = ()
    heredocs: tuple[Heredoc, ...] = ()
    line: int = 0
    original: str = ""


class Add(NamedTuple):
    sources: tuple[str, ...]
    dest: str
    chown: str = ""
    chmod: str = ""
    link: bool = False
    keep_git_dir: bool = False
    checksum: str = ""
    exclude: tuple[str, ...] = ()
    heredocs: tuple[Heredoc, ...] = ()
    line: int = 0
    original: str = ""


class Env(NamedTuple):
    pairs: tuple[tuple[str, str], ...]
    line: int = 0
    original: str = ""


class Label(NamedTuple):
    pairs: tuple[tuple[str, str], ...]
    line: int = 0
    original: str = ""


class Arg(NamedTuple):
    pairs: tuple[tuple[str, str | None], ...]
    line: int = 0
    original: str = ""


class Expose(NamedTuple):
    ports: tuple[str, ...]
    line: int = 0
    original: str = ""


class Workdir(NamedTuple):
    path: str
    line: int = 0
    original: str = ""


class User(NamedTuple):
    user: str
    line: int = 0
    original: str = ""


class Cmd(NamedTuple):
    cmd: tuple[str, ...]
    json: bool = False
    line: int = 0
    original: str = ""


class Entrypoint(NamedTuple):
    cmd: tuple[str, ...]
    json: bool = False
    line: int = 0
    original: str = ""


class Volume(NamedTuple):
    paths: tuple[str, ...]
    line: int = 0
    original: str = ""


class Stopsignal(NamedTuple):
    signal: str
    line: int = 0
    original: str = ""


class Healthcheck(NamedTuple):
    """HEALTHCHECK NONE (`none=True`) or CMD with options; durations in seconds (0 = default)."""

    none: bool = False
    cmd: tuple[str, ...] = ()
    json: bool = False
    interval: float = 0.0
    timeout: float = 0.0
    start_period: float = 0.0
    start_interval: float = 0.0
    retries: int = 0
    line: int = 0
    original: str = ""


class Shell(NamedTuple):
    cmd: tuple[str, ...]
    line: int = 0
    original: str = ""


class Onbuild(NamedTuple):
    """A trigger: the inner instruction's text (and heredoc bodies), run when a child image builds."""

    expression: str
    heredocs: tuple[Heredoc, ...] = ()
    line: int = 0
    original: str = ""


class Maintainer(NamedTuple):
    name: str
    line: int = 0
    original: str = ""


# Every typed instruction; each carries its 1-based start `line` and the `original` text.
Instruction = (
    From | Run | Copy | Add | Env | Label | Arg | Expose | Workdir | User | Cmd | Entrypoint | Volume | Stopsignal
    | Healthcheck | Shell | Onbuild | Maintainer
)


class Stage(NamedTuple):
    """One build stage: its FROM, the instructions after it, and the ARGs declared before any FROM."""

    base: From
    instructions: tuple[Instruction, ...]
    position: int  # 0-based, as `--from=N` names it
    global_args: tuple[Arg, ...] = ()
    escape: str = "\\"

    @property
    def name(self) -> str:
        return self.base.name


class Dockerfile(NamedTuple):
    """A parsed Dockerfile: global ARGs, stages in order, the escape token and parser warnings."""

    global_args: tuple[Arg, ...]
    stages: tuple[Stage, ...]
    escape: str = "\\"
    warnings: tuple[str, ...] = ()


def parse_dockerfile(text: str, filename: str = "Dockerfile") -> Dockerfile:
    """Parse and type every instruction, grouping them by FROM."""
    result = parse(text, filename)
    global_args: list[Arg] = []
    stages: list[tuple[From, list[Instruction]]] = []
    for node in result.nodes:
        inst = _typed(node, filename)
        if isinstance(inst, From):
            stages.append((inst, []))
        elif stages:
            stages[-1][1].append(inst)
        elif isinstance(inst, Arg):
            global_args.append(inst)
        else:
            raise DockerfileError(f"{filename}:{node.start_line}: {node.keyword} must come after FROM")
    args = tuple(global_args)
    typed = tuple(
        Stage(base=base, instructions=tuple(insts), position=i, global_args=args, escape=result.escape)
        for i, (base, insts) in enumerate(stages)
    )
    return Dockerfile(global_args=args, stages=typed, escape=result.escape, warnings=result.warnings)


def parse_instructions(text: str, filename: str = "Dockerfile") -> list[Stage]:
    """The stages of a Dockerfile (ARGs before the first FROM are in each stage's `global_args`)."""
    return list(parse_dockerfile(text, filename).stages)


def instruction_from_node(node: Node, filename: str = "Dockerfile") -> Instruction:
    """Type one parsed node (e.g. an ONBUILD trigger being replayed)."""
    return _typed(node, filename)


def _typed(node: Node, filename: str) -> Instruction:
    try:
        flags = parse_flags(node.keyword, node.flags)
        inst = _BUILDERS[node.keyword](node, flags)
    except (FlagError, LineError) as e:
        raise DockerfileError(f"{filename}:{node.start_line}: {e}") from e
    return inst._replace(line=node.start_line, original=node.original)


def _one(node: Node) -> str:
    if len(node.args) != 1 or not node.args[0]:
        raise LineError(f"{node.keyword} requires exactly one argument")
    return node.args[0]


def _from(node: Node, flags: Flags) -> From:
    args = node.args
    if len(args) == 3 and args[1].lower() == "as":
        name = args[2].lower()
        if not _STAGE_NAME.match(name):
            raise LineError(f"invalid name for build stage: {args[2]}: must start with a letter, then [a-z0-9-_.]")
    elif len(args) == 1:
        name = ""
    else:
        raise LineError("from requires either one or three arguments")
    return From(args[0], name, flags.string("platform"))


def _run(node: Node, flags: Flags) -> Run:
    if not node.args and not node.json:
        raise LineError("run requires at least one argument")
    network = flags.string("network")
    if network not in ("", "default", "none", "host"):
        raise LineError(f"unsupported network mode: {network}")
    security = flags.string("security")
    if security not in ("", "sandbox", "insecure"):
        raise LineError(f"unsupported security mode: {security}")
    mounts = tuple(parse_mount(spec) for spec in flags.many("mount"))
    return Run(node.args, node.json, mounts, network, security, _chomped(node.heredocs))


def _chomped(docs: tuple[Heredoc, ...]) -> tuple[Heredoc, ...]:
    """Heredoc bodies ready to use: `<<-` bodies lose their leading tabs."""
    return tuple(d._replace(content=heredoc.chomp(d.content)) if d.chomp else d for d in docs)


def _sources(node: Node) -> tuple[tuple[str, ...], str, tuple[Heredoc, ...]]:
    """COPY/ADD arguments -> (source paths, destination, heredoc sources in order)."""
    if len(node.args) < 2:
        raise LineError(f"{node.keyword} requires at least two arguments, but only one was provided")
    *sources, dest = node.args
    bodies = {d.name: d for d in _chomped(node.heredocs)}
    paths: list[str] = []
    docs: list[Heredoc] = []
    for src in sources:
        marker = heredoc.parse_marker(src) if bodies and not node.json else None
        if marker is not None and marker.name in bodies:
            docs.append(bodies[marker.name])
        else:
            paths.append(src)
    if bodies and heredoc.parse_marker(dest) is not None:
        raise LineError(f"{node.keyword}: a heredoc cannot be the destination")
    return tuple(paths), dest, tuple(docs)


def _copy(node: Node, flags: Flags) -> Copy:
    sources, dest, docs = _sources(node)
    return Copy(
        sources, dest, chown=flags.string("chown"), chmod=flags.string("chmod"), from_=flags.string("from"),
        link=flags.boolean("link"), parents=flags.boolean("parents"), exclude=flags.many("exclude"), heredocs=docs,
    )  # fmt: skip


def _add(node: Node, flags: Flags) -> Add:
    sources, dest, docs = _sources(node)
    return Add(
        sources, dest, chown=flags.string("chown"), chmod=flags.string("chmod"), link=flags.boolean("link"),
        keep_git_dir=flags.boolean("keep-git-dir"), checksum=flags.string("checksum"),
        exclude=flags.many("exclude"), heredocs=docs,
    )  # fmt: skip


def _pairs(node: Node) -> tuple[tuple[str, str], ...]:
    """ENV/LABEL (key, value, sep) triples -> (key, value) pairs."""
    if not node.args:
        raise LineError(f"{node.keyword} requires at least one argument")
    triples = node.args
    pairs = tuple((triples[i], triples[i + 1]) for i in range(0, len(triples), 3))
    for key, _ in pairs:
        if not key:
            raise LineError(f"{node.keyword} names can not be blank")
    return pairs


def _arg(node: Node, flags: Flags) -> Arg:
    if not node.args:
        raise LineError("arg requires at least one argument")
    pairs: list[tuple[str, str | None]] = []
    for word in node.args:
        key, has_value, value = word.partition("=")
        if not key:
            raise LineError(f"arg names can not be blank: {word}")
        pairs.append((key, value if has_value else None))
    return Arg(tuple(pairs))


def _healthcheck(node: Node, flags: Flags) -> Healthcheck:
    if not node.args:
        raise LineError("healthcheck requires an argument (CMD or NONE)")
    kind = node.args[0].upper()
    if kind == "NONE":
        if len(node.args) > 1 or flags.values:
            raise LineError("healthcheck none takes no arguments")
        return Healthcheck(none=True)
    if kind != "CMD":
        raise LineError(f"unknown type {node.args[0]} in healthcheck (try CMD)")
    if len(node.args) < 2:
        raise LineError("healthcheck cmd requires a command")
    retries = flags.string("retries", "0")
    if not retries.isdigit():
        raise LineError(f"invalid --retries value: {retries} (must be a non-negative integer)")
    names = ("interval", "timeout", "start-period", "start-interval")
    durations = {n: parse_duration(flags.string(n), n) for n in names}
    for name, seconds in durations.items():
        if seconds != 0 and seconds < 0.001:
            raise LineError(f"--{name} cannot be " + ("negative" if seconds < 0 else "less than 1ms"))
    return Healthcheck(
        cmd=node.args[1:], json=node.json, interval=durations["interval"], timeout=durations["timeout"],
        start_period=durations["start-period"], start_interval=durations["start-interval"], retries=int(retries),
    )  # fmt: skip


def _shell(node: Node, flags: Flags) -> Shell:
    if not node.json or not node.args:
        raise LineError("shell requires the arguments to be in json form, e.g. SHELL [\"/bin/sh\", \"-c\"]")
    return Shell(node.args)


def _onbuild(node: Node, flags: Flags) -> Onbuild:
    if node.inner is None:
        raise LineError("onbuild requires at least one argument")
    if node.inner.keyword in _NOT_TRIGGERS:
        raise LineError(f"{node.inner.keyword.upper()} isn't allowed as an ONBUILD trigger")
    return Onbuild(node.inner.original.strip(), node.heredocs)  # raw bodies: the child's parser chomps them


def _volume(node: Node, flags: Flags) -> Volume:
    if not node.args:
        raise LineError("volume requires at least one argument")
    if any(not path.strip() for path in node.args):
        raise LineError("volume specified can not be an empty string")
    return Volume(node.args)


def _expose(node: Node, flags: Flags) -> Expose:
    if not node.args:
        raise LineError("expose requires at least one argument")
    return Expose(node.args)


_BUILDERS: dict[str, Callable[[Node, Flags], Instruction]] = {
    "from": _from, "run": _run, "copy": _copy, "add": _add, "env": lambda n, f: Env(_pairs(n)), "arg": _arg,
    "label": lambda n, f: Label(_pairs(n)), "expose": _expose, "workdir": lambda n, f: Workdir(_one(n)),
    "user": lambda n, f: User(_one(n)), "cmd": lambda n, f: Cmd(n.args, n.json), "shell": _shell,
    "entrypoint": lambda n, f: Entrypoint(n.args, n.json), "volume": _volume, "healthcheck": _healthcheck,
    "stopsignal": lambda n, f: Stopsignal(_one(n)), "onbuild": _onbuild, "maintainer": lambda n, f: Maintainer(_one(n)),
}  # fmt: skip
