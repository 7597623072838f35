"""Instruction flags (`--from=`, `--mount=`, `--link`, ...): which each instruction accepts, and their values.

`parse_flags(keyword, flags)` checks every `--name[=value]` word against the instruction's table
(unknown, duplicated or value-less flags raise `FlagError`) and returns a `Flags` view.
`parse_mount()` reads RUN's `--mount=type=cache,target=/x,...`; `parse_duration()` reads Go
durations (`1m30s`) for HEALTHCHECK.
"""


from minidock.nouns import NamedTuple

BOOL, STRING, LIST = "bool", "string", "list"

ALLOWED: dict[str, dict[str, str]] = {
    "from": {"platform": STRING},
    "run": {"mount": LIST, "network": STRING, "security": STRING},
    "copy": {"from": STRING, "chown": STRING, "chmod": STRING, "link": BOOL, "parents": BOOL, "exclude": LIST},
    "add": {
        "chown": STRING, "chmod": STRING, "link": BOOL, "keep-git-dir": BOOL, "checksum": STRING,
        "exclude": LIST, "unpack": BOOL,
    },
    "healthcheck": {
        "interval": STRING, "timeout": STRING, "start-period": STRING, "start-interval": STRING, "retries": STRING,
    },
}  # fmt: skip



class FlagError(ValueError):
    """A flag an instruction does not accept or cannot use; the caller adds `FILE:LINE:`."""


class Flags(NamedTuple):
    """The validated flags of one instruction."""

    values: tuple[tuple[str, str], ...] = ()

    def string(self, name: str, default: str = "") -> str:
        for key, value in self.values:
            if key == name:
                return value
        return default

    def boolean(self, name: str) -> bool:
        return self.string(name, "false") == "true"

    def many(self, name: str) -> tuple[str, ...]:
        return tuple(value for key, value in self.values if key == name)


class Mount(NamedTuple):
    """One RUN `--mount`: type (bind, cache, tmpfs, secret, ssh), target, source, from, readonly, the rest."""

    type: str = "bind"
    target: str = ""
    source: str = ""
    from_: str = ""
    readonly: bool = False
    options: tuple[tuple[str, str], ...] = ()


def parse_flags(keyword: str, flags: tuple[str, ...]) -> Flags:
    """Validate `--name[=value]` words against what `keyword` accepts."""
    allowed = ALLOWED.get(keyword, {})
    values: list[tuple[str, str]] = []
    for flag in flags:
        name, has_value, value = flag.removeprefix("--").partition("=")
        kind = allowed.get(name)
        if kind is None:
            raise FlagError(f"unknown flag: --{name} for {keyword}")
        if kind != LIST and any(key == name for key, _ in values):
            raise FlagError(f"duplicate flag specified: --{name}")
        values.append((name, _flag_value(name, kind, value if has_value else None)))
    return Flags(tuple(values))


def _flag_value(name: str, kind: str, value: str | None) -> str:
    if kind == BOOL:
        text = "true" if value is None else value.lower()
        if text not in ("true", "false"):
            raise FlagError(f"expecting boolean value for flag --{name}, not: {value}")
        return text
    if value is None:
        raise FlagError(f"missing a value on flag: --{name}")
    return value


def parse_mount(spec: str) -> Mount:
    """`type=cache,target=/root/.cache,sharing=locked` -> Mount (bare `ro`/`rw` words allowed)."""
    fields: dict[str, str] = {"type": "bind"}
    options: list[tuple[str, str]] = []
    readonly: bool | None = None
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        key, has_value, value = item.partition("=")
        key = key.lower()
        if key in ("ro", "readonly", "rw", "readwrite"):
            readonly = _mount_bool(key, value if has_value else "true")
            if key in ("rw", "readwrite"):
                readonly = not readonly
            continue
        if not has_value and key == "required":  # BuildKit: a bare `required` means required=true
            value, has_value = "true", "="
        if not has_value:
            raise FlagError(f"invalid mount field {item}: expected key=value")
        canonical = {"dst": "target", "destination": "target", "src": "source"}.get(key, key)
        if canonical in ("type", "target", "source", "from"):
            fields[canonical] = value
        else:
            options.append((key, value))
    return _mount(fields, readonly, tuple(options), spec)


def _mount_bool(key: str, value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise FlagError(f"invalid value for mount field {key}: {value}")
    return value.lower() == "true"


def _mount(fields: dict[str, str], readonly: bool | None, options: tuple[tuple[str, str], ...], spec: str) -> Mount:
    kind = fields["type"]
    if kind not in ("bind", "cache", "tmpfs", "secret", "ssh"):
        raise FlagError(f"unsupported mount type {kind} in --mount={spec}")
    if kind in ("bind", "cache", "tmpfs") and not fields.get("target"):
        raise FlagError(f"mount target is required in --mount={spec}")
    default_ro = kind == "bind"
    return Mount(
        type=kind, target=fields.get("target", ""), source=fields.get("source", ""),
        from_=fields.get("from", ""), readonly=default_ro if readonly is None else readonly, options=options,
    )  # fmt: skip


def parse_duration(text: str, name: str) -> float:
    """A Go duration (`30s`, `1m30s`, `250ms`, `0`; empty: 0) in seconds (minidock/goduration.py)."""
    from minidock.goduration import DurationError
    from minidock.goduration import parse_duration as go_duration

    if not text:
        return 0.0
    try:
        return go_duration(text)
    except DurationError as e:
        raise FlagError(f"invalid duration for --{name}: {text} ({e})") from None
