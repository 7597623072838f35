"""`ps --filter KEY=VALUE`: Docker's common container filters, pure over ContainerRecord.

Values of one key are alternatives (OR), different keys must all match (AND), as in Docker:
`status=` (created|restarting|running|removing|paused|exited|dead), `name=` (a regular expression
searched in the name), `id=` (a prefix), `ancestor=` (image name[:tag], or image id prefix),
`exited=` (an exit code), `label=` (KEY or KEY=VALUE), `health=` (starting|healthy|unhealthy|none),
`volume=` (a volume name or mount destination), `network=` (the network mode or name). A `status` or
`exited` filter looks at every container, like `ps -a`.
"""

from __future__ import annotations

from minidock.errors import MinidockError, UsageError
from minidock.nouns import NamedTuple
from minidock.store.ctrrecord import ContainerRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from typing import Any

KEYS = ("status", "name", "id", "ancestor", "exited", "label", "health", "volume", "network")
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
        found: dict[str, list[str]] = {}
        for text in texts:
            key, eq, value = text.partition("=")
            key = key.strip().lower()
            if not eq or key not in KEYS:
                raise UsageError(f"invalid filter {text!r}: want one of {', '.join(k + '=...' for k in KEYS)}")
            if key == "status" and value not in STATUSES:
                raise UsageError(f"invalid filter {text!r}: status is one of {', '.join(STATUSES)}")
            if key == "exited" and not value.lstrip("-").isdigit():
                raise UsageError(f"invalid filter {text!r}: exited wants an integer exit code")
            if key == "name":
                _regex(value)
            if key == "health" and value not in HEALTH:
                raise UsageError(f"invalid filter {text!r}: health is one of {', '.join(HEALTH)}")
            found.setdefault(key, []).append(value)
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


def _regex(value: str) -> re.Pattern[str]:
    """A `name=` filter's regular expression (re loads only for one: ~1.5 ms of a `ps --filter`)."""
    import re

    try:
        return re.compile(value)
    except re.error as e:
        raise UsageError(f"invalid filter 'name={value}': {e}") from e


def _match(key: str, value: str, r: ContainerRecord) -> bool:
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
