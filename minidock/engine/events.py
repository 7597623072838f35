"""`events`: the store's event journal (store/events.py), filtered and shown the way Docker shows it.

`stream(since, until, filters)` yields past events inside the window, then, unless `until` has
passed, new ones as they are appended (until Ctrl-C, or `until`). `line(event)` is Docker's
default text: `TIME TYPE ACTION ID (k=v, ...)`.
"""

from __future__ import annotations

import time

from minidock.errors import UsageError
from minidock.paths import Paths
from minidock.store import events as journal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from typing import Any

    from minidock.store.ctrrecord import ContainerRecord

FILTERS = ("container", "event", "image", "label", "type", "volume", "network")


def check_filters(filters: Mapping[str, Sequence[str]]) -> None:
    for key in filters:
        if key not in FILTERS:
            raise UsageError(f"invalid filter '{key}'")


def matches(ev: Mapping[str, Any], filters: Mapping[str, Sequence[str]]) -> bool:
    """Docker's rules: values of one key are alternatives, different keys must all match."""
    actor = ev.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    ident = str(actor.get("ID", ""))
    for key, values in filters.items():
        if key == "type":
            ok = ev.get("Type") in values
        elif key == "event":
            ok = any(str(ev.get("Action", "")).split(":")[0] == v for v in values)
        elif key == "label":
            ok = any(_label(attrs, v) for v in values)
        elif key in ("container", "volume", "network"):
            ok = ev.get("Type") == key and any(ident.startswith(v) or attrs.get("name") == v for v in values)
        else:  # image
            ok = any(attrs.get("image") == v or ident == v or attrs.get("name") == v for v in values)
        if not ok:
            return False
    return True


def _label(attrs: Mapping[str, str], want: str) -> bool:
    k, eq, v = want.partition("=")
    return k in attrs and (not eq or attrs[k] == v)


def stream(since: float | None, until: float | None, filters: Mapping[str, Sequence[str]],
           paths: Paths | None = None) -> Iterator[dict[str, Any]]:
    """Events in [since, until] that pass `filters`; live ones too while `until` is ahead. With
    neither bound only live events come (Docker's `events`); `until` alone reads the whole journal
    (Docker: every event the daemon still holds)."""
    check_filters(filters)
    paths = paths or Paths.from_env()
    past, offset = journal.read(paths)
    if since is None and until is None:
        past = []
    lo = -1.0 if since is None else since
    hi = float("inf") if until is None else until
    for ev in past:
        t = ev.get("timeNano", 0) / 1e9
        if lo <= t <= hi and matches(ev, filters):
            yield ev
    if until is not None and time.time() > until:
        return
    for ev in journal.follow(paths, offset, lambda: until is None or time.time() <= until):
        if ev.get("timeNano", 0) / 1e9 >= lo and matches(ev, filters):
            yield ev


def line(ev: Mapping[str, Any]) -> str:
    """Docker's default event line."""
    ns = int(ev.get("timeNano", 0))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + f".{ns % 1_000_000_000:09d}Z"
    actor = ev.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    tail = f" ({', '.join(f'{k}={v}' for k, v in sorted(attrs.items()))})" if attrs else ""
    return f"{stamp} {ev.get('Type')} {ev.get('Action')} {actor.get('ID', '')}{tail}"


def emit(paths: Paths, kind: str, action: str, actor: str, attributes: Mapping[str, str] | None = None) -> None:
    """Journal one event (engine code's one way in)."""
    journal.record(paths, kind, action, actor, attributes)


def container_attrs(name: str, image: str, labels: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """A container event's attributes: its labels, image and name, and anything the action adds."""
    return {**dict(labels or {}), "image": image, "name": name, **extra}


def emit_container(paths: Paths, rec: ContainerRecord, action: str, **extra: str) -> None:
    """Journal a container event with Docker's attributes (labels, image, name, extras)."""
    labels = (rec.host_config.get("Config") or {}).get("Labels") or {}
    emit(paths, "container", action, rec.id, container_attrs(rec.name, rec.image, labels, **extra))
