"""A quick look at containers for display: records read as plain JSON, Docker's ps texts, inspect.

Why not the store's classes: `ps`, `inspect` and `logs` are typed all day and must start as fast
as the docker CLI; the store's modules bring typing, re and pathlib (~15 ms before any work).
This module reads the same files (layout: minidock/paths.py; records: store/containers.py) with
os and minidock/plainjson.py only (json's C parser, without re), applies the same rule as
ContainerStore.refresh (a record whose supervisor is gone is shown exited), and reads a container's
config.json only for what inspect shows.
Records here are the state.json dicts (`ContainerRecord.to_json()`'s keys).
"""

from __future__ import annotations

import os
import time

from minidock.errors import ConflictError, NotFoundError
from minidock.plainjson import loads, quote
from minidock.store.alive import alive, alive_since

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

ACTIVE = ("running", "paused", "restarting")


def root() -> str:
    """The store: $MINIDOCK_ROOT, else /var/lib/minidock (as paths.Paths.from_env)."""
    return os.environ.get("MINIDOCK_ROOT") or "/var/lib/minidock"


def container_dir(cid: str, store: str | None = None) -> str:
    return f"{store or root()}/containers/{cid}"


def rfc3339(at: float) -> str:
    """`at` as RFC 3339 UTC with microseconds (store.containers.now_rfc3339)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1e6):06d}Z"


def _read(cid: str, store: str) -> dict[str, Any] | None:
    path = container_dir(cid, store) + "/state.json"
    try:
        with open(path, "rb") as f:
            d = loads(f.read())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:  # a damaged record is shown as dead, so rm can remove it
        return {"id": cid, "name": f"damaged-{cid[:12]}", "image": "", "image_id": "", "created": "",
                "status": "dead", "error": f"state.json unreadable: {e}"}
    return _refresh(d, path) if isinstance(d, dict) else None


def _refresh(d: dict[str, Any], path: str) -> dict[str, Any]:
    """ContainerStore.refresh's rule on a plain record: one whose supervisor (or creator) is gone
    is marked `reclaim` here, and `records` hands it to the full path, which records it."""
    creator = d.get("creating") or 0
    if creator and not d.get("reclaim"):
        return d if alive(creator) else {**d, "reclaim": True}
    if d.get("status") not in ACTIVE:
        return d
    monitor = d.get("monitor_pid") or 0
    if alive_since(monitor, d.get("monitor_start") or 0) if monitor else alive(d.get("pid") or 0):
        return d
    return {**d, "status": "exited", "exit_code": d.get("exit_code") or 255,
            "error": d.get("error") or "container process and monitor are gone",
            "finished_at": d.get("finished_at") or rfc3339(time.time()), "reclaim": True}


def records(store: str | None = None) -> list[dict[str, Any]]:
    """Every container record, newest first."""
    store = store or root()
    try:
        ids = os.listdir(store + "/containers")
    except FileNotFoundError:
        return []
    found = [d for d in (_read(cid, store) for cid in sorted(ids)) if d is not None]
    if any(d.get("reclaim") for d in found):  # a dead supervisor's leftovers: the full path takes them back
        _reclaim(store)
        found = [d for d in (_read(cid, store) for cid in sorted(ids)) if d is not None]
    return sorted(found, key=lambda d: d.get("created") or "", reverse=True)


def _reclaim(store: str) -> None:
    """Record the orphans and take back what their supervisors held (engine/reclaim.py): rare, so
    the store's classes may load here."""
    from minidock.engine.lifecycle import open_records
    from minidock.paths import Paths
    from minidock.store.store import Store

    open_records(Store.open(Paths(str(store).rstrip("/") or "/")))


def find(ref: str, store: str | None = None) -> dict[str, Any]:
    """By full id, exact name, or unique id prefix (ContainerStore.get's rules and messages)."""
    everything = records(store)
    name = ref.lstrip("/")
    for d in everything:
        if d.get("id") == ref or d.get("name") == name:
            return d
    matches = [d for d in everything if ref and str(d.get("id", "")).startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ConflictError(f"multiple containers found with provided prefix: {ref}")
    raise NotFoundError(f"no such container: {ref}")


def epoch(text: str) -> float | None:
    """An RFC 3339 time ("2024-01-02T03:04:05.123456789Z", or with +hh:mm) as a Unix time."""
    try:
        date, _, clock = text.strip().partition("T")
        y, m, d = (int(x) for x in date.split("-"))
        zone = 0
        for sign in ("+", "-"):
            if sign in clock:
                clock, _, off = clock.partition(sign)
                hh, _, mm = off.partition(":")
                zone = (int(hh) * 3600 + int(mm or 0) * 60) * (1 if sign == "+" else -1)
        hms = clock.rstrip("Z").split(":")
        seconds = int(hms[0]) * 3600 + int(hms[1]) * 60 + float(hms[2][:9] if "." in hms[2] else hms[2])
    except (ValueError, IndexError):
        return None
    y -= m <= 2  # days from civil (Howard Hinnant's algorithm)
    era = y // 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    days = era * 146097 + (y - era * 400) * 365 + (y - era * 400) // 4 - (y - era * 400) // 100 + doy - 719468
    return days * 86400 + seconds - zone


def since(text: str, now: float | None = None) -> float:
    """Seconds from an RFC 3339 time to `now`; 0 when it does not parse."""
    t = epoch(text or "")
    return 0.0 if t is None else (time.time() if now is None else now) - t


def _duration(seconds: float) -> str:
    from minidock.engine.humanize import human_duration

    return human_duration(seconds)


def status_text(d: dict[str, Any], now: float | None = None) -> str:
    """docker ps STATUS: "Up 3 seconds (healthy)", "Up 5 seconds (Paused)", "Exited (0) 2 minutes ago"."""
    status = d.get("status") or "created"
    if status in ("running", "paused"):
        up = f"Up {_duration(since(d.get('started_at') or '', now))}"
        if status == "paused":
            return up + " (Paused)"
        health = (d.get("health") or {}).get("Status")
        return f"{up} (health: starting)" if health == "starting" else f"{up} ({health})" if health else up
    if status in ("restarting", "exited"):
        ago = _duration(since(d.get("finished_at") or "", now))
        return f"{status.capitalize()} ({d.get('exit_code', 0)}) {ago} ago"
    return str(status).capitalize()


def created_text(d: dict[str, Any], now: float | None = None) -> str:
    return f"{_duration(since(d.get('created') or '', now))} ago"


def ago(text: str, now: float | None = None) -> str:
    """"2 weeks ago" (humanize.ago's words); "N/A" for no time or the zero time."""
    if epoch(text or "") is None or (text or "").startswith("0001-"):
        return "N/A"
    return f"{_duration(since(text, now))} ago"


def command_text(d: dict[str, Any], trunc: bool = True) -> str:
    """docker ps COMMAND: the daemon's line (arguments with a space in single quotes), cut to 20
    characters with an ellipsis, then Go-quoted (strconv.Quote)."""
    path, *args = list(d.get("command") or ()) or [""]
    text = " ".join([path, *(f"'{a}'" if " " in a else a for a in args)])
    if trunc and len(text) > 20:
        text = text[:19] + "…"
    return quote(text)


def network_ports(d: dict[str, Any]) -> dict[str, Any]:
    """NetworkSettings.Ports: while the container runs with an address, its exposed ports (null)
    and its published ones with their bindings; nothing once it stopped (Docker clears them)."""
    att, hc = d.get("network") or {}, d.get("host_config") or {}
    if d.get("status") not in ACTIVE or not att.get("ip"):
        return {}
    ports: dict[str, Any] = {p: None for p in (hc.get("Config") or {}).get("ExposedPorts") or {}}
    for p in att.get("ports") or ():
        if isinstance(p, dict):
            key = f"{p.get('container_port')}/{p.get('protocol', 'tcp')}"
            ports[key] = [*(ports.get(key) or []), {"HostIp": p.get("host_ip") or "0.0.0.0",
                                                     "HostPort": str(p.get("host_port"))}]
    return ports


def port_list(d: dict[str, Any]) -> list[tuple[int, int, str, str]]:
    """(private port, public port or 0, protocol, host ip) of each port `ps` shows (the API's Ports)."""
    out = []
    for key, bindings in network_ports(d).items():
        port, _, kind = key.partition("/")
        if not port.isdigit():
            continue
        for b in bindings or ({"HostPort": ""},):
            public = str(b.get("HostPort", ""))
            out.append((int(port), int(public) if public.isdigit() else 0, kind or "tcp", str(b.get("HostIp", ""))))
    return out


def ports_text(d: dict[str, Any]) -> str:
    """docker ps PORTS (docker/cli DisplayablePorts): exposed ports and ports published on the same
    number grouped into ranges ("90-91/tcp", "0.0.0.0:80->80/tcp"), then the other mappings
    ("0.0.0.0:8080->80/tcp"), ordered by private port, ip, public port, protocol."""
    groups: dict[str, list[int]] = {}  # why a dict: its keys keep the order groups were first made
    result, mappings = [], []
    for private, public, kind, ip in sorted(port_list(d), key=lambda p: (p[0], p[3], p[1], p[2])):
        key = kind
        if ip:
            if public != private:
                mappings.append(f"{f'[{ip}]' if ':' in ip else ip}:{public}->{private}/{kind}")
                continue
            key = f"{ip}/{kind}"
        group = groups.get(key)
        if group is not None and private == group[1] + 1:
            group[1] = private
            continue
        if group is not None:
            result.append(_port_group(key, *group))
        groups[key] = [private, private]
    return ", ".join([*result, *(_port_group(k, *g) for k, g in groups.items()), *mappings])


def _port_group(key: str, first: int, last: int) -> str:
    ip, _, kind = key.rpartition("/")
    span = str(first) if first == last else f"{first}-{last}"
    return f"{ip}:{span}->{span}/{kind}" if ip else f"{span}/{kind}"


def docker_time(text: str) -> str:
    """The CreatedAt form of listings ("2024-01-01 00:00:00 +0000 UTC")."""
    t = epoch(text or "")
    return "" if t is None else time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(t))


def labels(d: dict[str, Any]) -> dict[str, str]:
    return dict(((d.get("host_config") or {}).get("Config") or {}).get("Labels") or {})


def log_names(names: list[str]) -> list[str]:
    """The log files among a container directory's `names`: the rotated ones oldest first (log.N or,
    compressed, log.N.gz ... log.1), then the live `log`."""
    def number(name: str) -> int:
        rest = name[4:].removesuffix(".gz")
        return int(rest) if name.startswith("log.") and rest.isdigit() else 0
    rotated = sorted((n for n in names if number(n)), key=number, reverse=True)
    return [*rotated, *(["log"] if "log" in names else [])]


def read_log(path: str, limit: int | None = None) -> bytes:
    """A log file's bytes (gunzipped for log.N.gz; the first `limit` of a plain one)."""
    with open(path, "rb") as f:
        data = f.read() if limit is None else f.read(limit)
    if path.endswith(".gz"):
        import gzip  # lazily: only compress=true logs have these

        data = gzip.decompress(data)
    return data


def details(attrs: dict[str, str]) -> str:
    """`logs --details`' prefix: the entry's attrs as k=v (query-escaped, by key) joined by commas, then
    a space (just the space when there are none), as Docker's daemon adds it."""
    if not attrs:
        return " "
    from urllib.parse import quote_plus  # lazily: only --details with attrs

    return ",".join(f"{quote_plus(k, safe='~')}={quote_plus(v, safe='~')}" for k, v in sorted(attrs.items())) + " "


def log_entries(cid: str, tail: int = -1, store: str | None = None) -> list[tuple[str, str, str, dict[str, str]]]:
    """(stream, text, time, attrs) of the container's json-file log: rotated files oldest first, then
    the live one; the last `tail` when tail >= 0 (engine/logs.py read_entries)."""
    where = container_dir(cid, store)
    try:
        names = os.listdir(where)
    except FileNotFoundError:
        return []
    lines: list[bytes] = []
    for name in log_names(names):
        lines.extend(line for line in read_log(f"{where}/{name}").split(b"\n") if line.strip())
    if tail >= 0:
        lines = lines[len(lines) - tail:] if tail else []
    out = []
    for line in lines:
        try:
            d = loads(line)
        except ValueError:
            continue  # a torn last line (the writer died mid-write)
        attrs = d.get("attrs")
        out.append((str(d.get("stream", "stdout")), str(d.get("log", "")), str(d.get("time", "")),
                    {str(k): str(v) for k, v in attrs.items()} if isinstance(attrs, dict) else {}))
    return out


class NetworkView:
    """What `network ls` shows of a network (and its --filter looks at)."""

    __slots__ = ("created", "driver", "id", "internal", "labels", "name")

    def __init__(self, name: str, id_: str, driver: str, created: str = "", *,
                 labels: dict[str, str] | None = None, internal: bool = False) -> None:
        self.name, self.id, self.driver, self.created = name, id_, driver, created
        self.labels, self.internal = labels or {}, internal


# runtime/net/netconfig.py's builtins: name, id (sha256 of "minidock-network-NAME"), driver
BUILTIN_NETWORKS = (("host", "c207f75db1428649c08eaf9b2bc15c1fd1ba03a61517c4ee0b66f5f4a5572d69", "host"),
                    ("none", "43edeb9a488f700eaffdb9a21215eefe9eb8dfd7945c040b82edfdf45009c486", "null"))


def networks(store: str | None = None) -> list[NetworkView] | None:
    """`network ls` from networks.json (NetworkStore.list's order: bridge, user networks, host, none);
    None before the default bridge is recorded (the engine records it: engine/networks.py)."""
    try:
        with open(f"{store or root()}/networks/networks.json", "rb") as f:
            raw = loads(f.read())
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict) or "bridge" not in raw:
        return None
    stored = sorted(raw.values(), key=lambda n: (n.get("name") != "bridge", n.get("name", "")))
    return [*(NetworkView(str(n.get("name", "")), str(n.get("id", "")), str(n.get("driver", "bridge")),
                          str(n.get("created", "")), labels=dict(n.get("labels") or {}),
                          internal=bool(n.get("internal")))
              for n in stored),
            *(NetworkView(name, id_, driver, str(raw["bridge"].get("created", "")))
              for name, id_, driver in BUILTIN_NETWORKS)]


def snapshot_chain(sid: str, store: str | None = None) -> list[str]:
    """The ids of the snapshots below `sid`, top first (the parents its meta.json names)."""
    snapshots, out = f"{store or root()}/snapshots", []
    for _ in range(1000):  # why bounded: a damaged chain that loops must not hang `ps`
        try:
            with open(f"{snapshots}/{sid}/meta.json", "rb") as f:
                parent = loads(f.read()).get("parent")
        except (OSError, ValueError, AttributeError):
            break
        if not isinstance(parent, str) or not parent:
            break
        sid = parent.removeprefix("sha256:")
        out.append(sid)
    return out


def container_sizes(d: dict[str, Any], store: str | None = None) -> tuple[int, int]:
    """(SizeRw, SizeRootFs) of a container, as Docker's `ps -s` and `inspect -s` give them: what its
    upper directory holds, and that plus its image's layers (their recorded sizes)."""
    from minidock.store.atomic import tree_size  # lazily: only --size (and `.Size` templates) walk trees

    snapshots, cid = f"{store or root()}/snapshots", str(d.get("id", ""))
    rw = total = tree_size(f"{snapshots}/{cid}/fs")
    for sid in snapshot_chain(cid, store):
        try:
            with open(f"{snapshots}/{sid}/meta.json", "rb") as f:
                size = loads(f.read()).get("size")
        except (OSError, ValueError, AttributeError):
            size = None
        total += size if isinstance(size, int) else tree_size(f"{snapshots}/{sid}/fs")
    return rw, total


def size_text(rw: int, rootfs: int) -> str:
    """docker ps's SIZE: `123kB (virtual 2.11MB)`."""
    from minidock.engine.humanize import human_size

    return f"{human_size(rw)} (virtual {human_size(rootfs)})" if rootfs > 0 else human_size(rw)
