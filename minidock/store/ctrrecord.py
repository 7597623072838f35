"""ContainerRecord: what the store knows about one container (containers/<id>/state.json).

Its own module, with nothing but the standard library's `types` beside the nouns: `ps --filter`
(engine/filters.py, on the quick path) matches plain records through it without loading the store
(store/containers.py, pathlib and re: ~5 ms of a ~10 ms command).
"""

from __future__ import annotations

from types import MappingProxyType

from minidock.nouns import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


class ContainerRecord(NamedTuple):
    """What the store knows about one container."""

    id: str
    name: str
    image: str
    image_id: str
    created: str
    command: tuple[str, ...] = ()
    status: str = "created"
    pid: int = 0
    monitor_pid: int = 0
    monitor_start: int = 0  # its start time (alive.start_time): a reused pid is not the supervisor
    exit_code: int = 0
    oom_killed: bool = False
    error: str = ""
    started_at: str = ""
    finished_at: str = ""
    restart_count: int = 0
    manual_stop: bool = False  # `stop`/`rm -f` asked: the monitor must not restart it
    restarting: bool = False  # `restart` asked: an --rm container is not removed at this stop
    host_config: Mapping[str, Any] = MappingProxyType({})
    network: Mapping[str, Any] = MappingProxyType({})
    health: Mapping[str, Any] = MappingProxyType({})  # Docker's State.Health, kept by the health checker
    reclaim: bool = False  # its supervisor died: cgroups, network (and --rm files) wait for engine/reclaim
    creating: int = 0  # pid of the process creating it, until the record is complete

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ContainerRecord:
        kw = {k: v for k, v in d.items() if k in cls._fields}
        kw["command"] = tuple(kw.get("command") or ())
        return cls(**kw)

    def to_json(self) -> dict[str, Any]:
        d = self._asdict()
        d.update(command=list(self.command), host_config=dict(self.host_config), network=dict(self.network),
                 health=dict(self.health))
        return d

    def with_(self, **changes: Any) -> ContainerRecord:
        return self._replace(**changes)
