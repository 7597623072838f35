"""`ps --filter KEY=VALUE`: Docker's common container filters, pure over ContainerRecord.

Values of one key are alternatives (OR), different keys must all match (AND), as in Docker:
`status=` (created|restarting|running|removing|paused|exited|dead), `name=` (a regular expression
searched in the name), `id=` (a prefix), `ancestor=` (image name[:tag], or image id prefix),
`exited=` (an exit code), `label=` (KEY or KEY=VALUE), `health=` (starting|healthy|unhealthy|none),
`volume=` (a volume name or mount destination), `network=` (the network mode or name), `publish=` and
`expose=` (PORT[/PROTO] or a range START-END[/PROTO]: a public or private port of those `ps` shows),
`before=` and `since=` (containers created before or after the one named), `is-task=` (true matches
nothing: minidock runs no swarm tasks). A `status` or `exited` filter looks at every container, like
`ps -a`.
"""

from __future__ import annotations

from minidock.errors import MinidockError, NotFoundError, UsageError
from minidock.nouns import NamedTuple
from minidock.store.ctrrecord import ContainerRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Callable
    from typing import Any

KEYS = ("status", "name", "id", "ancestor", "exited", "label", "health", "volume", "network", "publish", "expose",
        "before", "since", "is-task")
HEALTH = ("starting", "healthy", "unhealthy", "none")
STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


def _normal(name: str) -> str:
    """An image name as stored ("busybox" -> "docker.io/library/busybox:latest"); as typed when invalid."""
    from minidock.image.reference import Reference

    try:
        return str(Reference.parse(name))
    except MinidockError:
        return name


class PsFilter(NamedTuple):
    """The parsed `--filter` flags: key -> accepted values."""

    terms: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def parse(cls, texts: list[str] | tuple[str, ...]) -> PsFilter:
        from minidock.engine.filterargs import grouped

        found = grouped(texts, "ps", KEYS)
        for key, value in ((k, v) for k, vs in found.items() for v in vs):
            text = f"{key}={value}"
            if key == "status" and value not in STATUSES:
                raise UsageError(f"invalid filter {text!r}: status is one of {', '.join(STATUSES)}")
            if key == "exited" and not value.lstrip("-").isdigit():
                raise UsageError(f"invalid filter {text!r}: exited wants an integer exit code")
            if key == "name":
                _regex(value)
            if key == "health" and value not in HEALTH:
                raise UsageError(f"invalid filter {text!r}: health is one of {', '.join(HEALTH)}")
            if key in ("publish", "expose"):
                _ports(key, value)
        if found.get("is-task", ["true"]) not in (["true"], ["false"]):  # Docker's words and brackets
            raise UsageError(f"Invalid filter 'is-task=[{' '.join(found['is-task'])}]'")
        return cls(tuple((k, tuple(v)) for k, v in found.items()))

    @property
    def shows_all(self) -> bool:
        """Filters on state see stopped containers without -a (Docker's rule)."""
        return any(k in ("status", "exited") for k, _ in self.terms)

    def matches(self, r: ContainerRecord) -> bool:
        return all(any(_match(key, v, r) for v in values) for key, values in self.terms)

    def matches_json(self, d: dict[str, Any]) -> bool:
        """`matches` for a plain record (engine/glance.py), as the store's ContainerRecord reads it."""
        return self.matches(ContainerRecord.from_json(d))

    def window(self, newest_first: list[Any], ident: Callable[[Any], tuple[str, str]]) -> list[Any]:
        """`since=` and `before=` over records listed newest first (`ident`: a record's id and name):
        those made after the `since` container, and before the `before` one (Docker's daemon walks
        the list the same way). NotFoundError names a container that does not exist."""
        terms = dict(self.terms)
        below, above = len(newest_first), -1  # the last value of each key counts, as in Docker
        for ref in terms.get("since", ()):
            below = _position(newest_first, ref, ident)
        for ref in terms.get("before", ()):
            above = _position(newest_first, ref, ident)
        return [r for i, r in enumerate(newest_first) if above < i < below]


def _regex(value: str) -> re.Pattern[str]:
    """A `name=` filter's regular expression (re loads only for one: ~1.5 ms of a `ps --filter`)."""
    import re

    try:
        return re.compile(value)
    except re.error as e:
        raise UsageError(f"invalid filter 'name={value}': {e}") from e


def _ports(key: str, value: str) -> set[str]:
    """The PORT/PROTO keys a publish= or expose= value names (Docker's portOp and messages)."""
    if ":" in value:
        raise UsageError(f"filter for '{key}' should not contain ':': {value}")
    port, _, proto = value.partition("/")
    first, _, last = port.partition("-")
    for text in (first, last or first):
        if not text.isdigit() or int(text) > 65535:
            raise UsageError(f"error while looking up for {key} {value}: strconv.ParseUint: parsing "
                             f"{text!r}: {'invalid syntax' if not text.isdigit() else 'value out of range'}"
                             .replace("'", '"'))
    if int(last or first) < int(first):
        raise UsageError(f"error while looking up for {key} {value}: invalid range specified for port: {port}")
    return {f"{n}/{proto or 'tcp'}" for n in range(int(first), int(last or first) + 1)}


def _position(records: list[Any], ref: str, ident: Callable[[Any], tuple[str, str]]) -> int:
    """Where the container `ref` (id, name or unique id prefix) is in `records`."""
    ids = [ident(r) for r in records]
    for i, (cid, name) in enumerate(ids):
        if ref in (cid, name) or ref.lstrip("/") == name:
            return i
    found = [i for i, (cid, _) in enumerate(ids) if ref and cid.startswith(ref)]
    if len(found) == 1:
        return found[0]
    raise NotFoundError(f"no such container {ref}")


def _match(key: str, value: str, r: ContainerRecord) -> bool:
    if key in ("before", "since"):
        return True  # PsFilter.window: they select by position in the list
    if key == "is-task":
        return value == "false"
    if key in ("publish", "expose"):
        from minidock.engine.glance import port_list

        wanted = _ports(key, value)
        return any(f"{public if key == 'publish' else private}/{kind}" in wanted
                   for private, public, kind, _ in port_list(r.to_json()))
    if key == "status":
        return r.status == value
    if key == "name":
        return _regex(value).search(r.name) is not None
    if key == "id":
        return r.id.startswith(value)
    if key == "exited":
        return r.status == "exited" and r.exit_code == int(value)
    if key in ("label", "health", "volume", "network"):
        return _match_config(key, value, r)
    hexpart = value.removeprefix("sha256:")
    is_id = len(hexpart) >= 4 and all(c in "0123456789abcdef" for c in hexpart)
    if is_id and r.image_id.removeprefix("sha256:").startswith(hexpart):
        return True
    return _normal(value) == _normal(r.image)


def _match_config(key: str, value: str, r: ContainerRecord) -> bool:
    """label=K[=V], health=STATUS, volume=NAME|DEST, network=NAME over the recorded config."""
    hc = r.host_config
    if key == "label":
        labels = (hc.get("Config") or {}).get("Labels") or {}
        k, eq, v = value.partition("=")
        return k in labels and (not eq or labels[k] == v)
    if key == "health":
        status = r.health.get("Status") if r.health else None
        return (status or "none") == value
    if key == "volume":
        return any(value in (m.get("Name"), m.get("Destination")) for m in hc.get("MountPoints") or ())
    return hc.get("NetworkMode") == value


class PruneFilter(NamedTuple):
    """`container prune` / `image prune` `--filter`: until=TIME (made before it: RFC 3339, a Unix time
    or a duration before now), label=K[=V] and label!=K[=V] (all must hold), and for images
    dangling=true|false (false: as -a; docker/cli adds its own dangling=true (false with -a) and the
    daemon takes `false` over `true` over anything else, so no value is refused). Docker's keys and
    messages."""

    until: float | None = None
    labels: tuple[tuple[str, bool], ...] = ()  # (K or K=V, wanted)
    dangling: bool | None = None

    @classmethod
    def parse(cls, texts: list[str] | tuple[str, ...], images: bool = False, now: float | None = None,
              command: str = "container prune") -> PruneFilter:
        from minidock.engine.filterargs import daemon_error, grouped

        # `label!=K` is read as the name `label!` (the partition cuts at the "=" of "!=")
        found = grouped(texts, command, ("until", "label", "label!", *(("dangling",) if images else ())), "--filter")
        until = None
        for value in found.get("until", ()):  # the last one counts
            from minidock.engine.logs import parse_time

            try:
                until = parse_time(value, now)
            except UsageError:
                raise daemon_error(f'failed to parse value as time or duration: "{value}"') from None
        values = found.get("dangling", ())  # exact, as the daemon's ExactMatch
        dangling = False if {"false", "0"} & set(values) else True if {"true", "1"} & set(values) else None
        labels = tuple((v, k == "label") for k in ("label", "label!") for v in found.get(k, ()))
        return cls(until, labels, dangling)

    def matches(self, created: str, labels: dict[str, str]) -> bool:
        """Whether an object made at `created` (RFC 3339) with `labels` is pruned."""
        if self.until is not None:
            from minidock.engine.glance import epoch

            at = epoch(created)
            if at is None or at >= self.until:
                return False
        for term, wanted in self.labels:
            k, eq, v = term.partition("=")
            if (k in labels and (not eq or labels[k] == v)) != wanted:
                return False
        return True
