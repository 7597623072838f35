"""`network ls --filter` and `network prune --filter`: Docker 20.10's keys, values and words, pure.

ls keys (values of one key are alternatives, different keys must all hold, as in Docker's daemon):
`driver=` (exact), `id=` and `name=` (a regular expression searched in the id / name, as Docker's
filters.Match), `label=K` / `label=K=V`, `scope=` (local: minidock has no swarm or global networks),
`type=custom|builtin`, `dangling=true|false` (1|0). Docker 20.10 fills no `Containers` in the
network list its filters run over, so `dangling=true` selects every custom network and `dangling=false`
the builtins, whatever runs on them (checked against dockerd 20.10.24); minidock does the same.
`network prune` does look at containers (`in_use`): a network "has containers" as in Docker when
running ones are on it (a stopped container holds no endpoint: Docker prunes its network too).
Prune keys: until=, label=, label!= (engine.filters.PruneFilter).
"""

from __future__ import annotations

from minidock.engine.filterargs import grouped
from minidock.nouns import NamedTuple
from minidock.runtime.net.netspec import daemon_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

KEYS = ("dangling", "driver", "id", "label", "name", "scope", "type")
BUILTIN = ("bridge", "host", "none")
DANGLING = {"true": True, "1": True, "false": False, "0": False}


class NetworkFilter(NamedTuple):
    """Parsed `network ls --filter` flags: key -> accepted values."""

    terms: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def parse(cls, texts: Iterable[str]) -> NetworkFilter:
        found = grouped(texts, "network ls", KEYS)
        for value in found.get("type", ()):
            if value not in ("custom", "builtin"):
                raise daemon_error(f"invalid filter: 'type'='{value}'")
        for value in found.get("dangling", ()):
            if value.lower() not in DANGLING:
                raise daemon_error("invalid value for filter 'dangling', must be \"true\" (or \"1\"), or \"false\" "
                                   '(or "0")')
        return cls(tuple((k, tuple(v)) for k, v in found.items()))

    def matches(self, n: Any) -> bool:
        """`n`: anything with name, id, driver and labels (NetworkConfig, glance.NetworkView)."""
        return all(any(_match(key, v, n) for v in values) for key, values in self.terms)


def _search(pattern: str, text: str) -> bool:
    import re  # why here: only a name=/id= filter needs it

    try:
        return pattern == text or re.search(pattern, text) is not None
    except re.error:
        return False


def _match(key: str, value: str, n: Any) -> bool:
    if key == "driver":
        return bool(n.driver == value)
    if key in ("id", "name"):
        return _search(value, n.id if key == "id" else n.name)
    if key == "label":
        k, eq, v = value.partition("=")
        labels = n.labels or {}
        return k in labels and (not eq or labels[k] == v)
    if key == "scope":
        return value == "local"
    if key == "type":
        return (n.name in BUILTIN) == (value == "builtin")
    return (n.name not in BUILTIN) == DANGLING[value.lower()]  # dangling: see the module's docstring


def in_use(records: Iterable[dict[str, Any]]) -> set[str]:
    """Names of the networks running containers are on (first network and `network connect`ed ones),
    from plain container records (engine/glance.py)."""
    active = ("running", "paused", "restarting")
    out: set[str] = set()
    for d in records:
        hc = d.get("host_config") or {}
        if d.get("status") in active:
            out.add(str(hc.get("NetworkMode") or "bridge"))
            out.update(str(x) for x in hc.get("ExtraNetworks") or ())
    return out


def natural_key(name: str) -> list[Any]:
    """docker/cli's sortorder.NaturalLess as a sort key: digit runs compare as numbers (split by hand:
    `re` costs ~4 ms of `network ls`'s start-up)."""
    parts: list[str] = []
    for ch in name:  # ASCII digits, as Go's
        if parts and ("0" <= parts[-1][-1] <= "9") == ("0" <= ch <= "9"):
            parts[-1] += ch
        else:
            parts.append(ch)
    return [(0, int(part), "") if "0" <= part[0] <= "9" else (1, 0, part) for part in parts]
