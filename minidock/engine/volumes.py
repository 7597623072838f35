"""Volumes and mounts as Docker has them: `-v`, `--mount`, `--volumes-from`, image VOLUMEs, `volume` commands.

A container's mounts are planned once, at create: every `-v`/`--mount` is parsed into a MountSpec
(pure), named volumes are created on first use, a VOLUME of the image that no user mount covers
gets an anonymous volume, and `--volumes-from` copies another container's mount points. The plan
becomes runtime mounts (binds of `volumes/<name>/_data`; a volume that Docker would fill from the
image carries the `copyup` option, done by the runtime at each start while the volume is empty)
and Docker's inspect `Mounts` list, kept in the container record.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

from minidock.engine.events import emit
from minidock.errors import ConflictError, InvalidParameterError, NotFoundError, UsageError
from minidock.nouns import NamedTuple
from minidock.oci.runtimespec import Mount
from minidock.store.containers import ContainerStore, now_rfc3339
from minidock.store.ctrrecord import ContainerRecord
from minidock.store.store import Store
from minidock.store.volumes import VolumeRecord, VolumeStore, valid_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
_TRUE = ("", "1", "true")
_FALSE = ("0", "false")


class MountSpec(NamedTuple):
    """One mount a container asked for: bind (host path), volume (name, "" = anonymous) or tmpfs."""

    type: str
    source: str
    destination: str
    read_only: bool = False
    nocopy: bool = False
    propagation: str = ""
    labels: Mapping[str, str] = MappingProxyType({})
    tmpfs_options: tuple[str, ...] = ()


def _destination(text: str, spec: str, kind: str) -> str:
    if not text:
        raise UsageError(f"invalid mount config for type {kind!r}: field Target must not be empty")
    if not os.path.isabs(text):  # the daemon's check in Docker (create exits 1), as is "/" below
        raise InvalidParameterError(f"invalid mount config for type {kind!r}: invalid mount path: {text!r} "
                         "mount path must be absolute")
    if os.path.normpath(text) == "/":
        raise InvalidParameterError(f"invalid volume specification {spec!r}: invalid mount config: "
                                    "destination can't be '/'")
    return os.path.normpath(text)


def parse_v(text: str) -> MountSpec:
    """`-v [SOURCE:]DEST[:OPTS]`: SOURCE absolute -> bind, a name -> named volume, none -> anonymous."""
    parts = text.split(":")
    if not text or len(parts) > 3 or any(not p for p in parts[:2]):
        raise UsageError(f"invalid volume specification: {text!r}")
    if len(parts) == 1 or (len(parts) == 2 and _looks_like_opts(parts[1]) and os.path.isabs(parts[0])
                           and not os.path.isabs(parts[1])):
        source, dest, opts = "", parts[0], parts[1] if len(parts) == 2 else ""
    else:
        source, dest, opts = parts[0], parts[1], parts[2] if len(parts) == 3 else ""
    read_only, nocopy, propagation = False, False, ""
    for o in (o for o in opts.split(",") if o):
        if o in ("ro", "rw"):
            read_only = o == "ro"
        elif o == "nocopy":
            nocopy = True
        elif o in _PROPAGATIONS:
            propagation = o
        elif o not in ("z", "Z", "consistent", "cached", "delegated"):
            raise UsageError(f"invalid mode: {o} (in volume specification {text!r})")
    kind = "bind" if os.path.isabs(source) else "volume"
    if kind == "volume" and source and not valid_name(source):
        raise UsageError(f"{source!r} includes invalid characters for a local volume name, only "
                         "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, "
                         "use absolute path")
    if kind == "bind" and nocopy:
        raise UsageError(f"invalid volume specification {text!r}: nocopy is only valid for volumes")
    return MountSpec(kind, os.path.normpath(source) if kind == "bind" else source, _destination(dest, text, kind),
                     read_only, nocopy, propagation)


def _looks_like_opts(text: str) -> bool:
    return all(o in ("ro", "rw", "z", "Z", "nocopy", *_PROPAGATIONS) for o in text.split(","))


def parse_mount(text: str) -> MountSpec:
    """`--mount type=bind|volume|tmpfs,source=..,target=..[,readonly][,...]` (Docker's keys)."""
    fields: dict[str, str] = {}
    labels: dict[str, str] = {}
    for item in (i for i in text.split(",") if i):
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if key == "volume-label":
            k, _, v = value.partition("=")
            labels[k] = v
        elif not eq and key not in ("readonly", "ro", "volume-nocopy", "bind-nonrecursive"):
            raise UsageError(f"invalid argument {text!r} for \"--mount\" flag: invalid field {item!r} "
                             "must be a key=value pair")
        else:
            fields[_ALIASES.get(key, key)] = value
    unknown = set(fields) - _KEYS
    if unknown:
        raise UsageError(f"invalid argument {text!r} for \"--mount\" flag: unexpected key {sorted(unknown)[0]!r}")
    kind = fields.get("type", "volume")
    if kind not in ("bind", "volume", "tmpfs"):
        raise UsageError(f"invalid argument {text!r} for \"--mount\" flag: invalid mount type {kind!r}")
    ro = _bool(fields.get("readonly", "false"), text)
    dest = _destination(fields.get("target", ""), text, kind)
    source = fields.get("source", "")
    if kind == "bind":
        if not source:
            raise UsageError("invalid mount config for type \"bind\": field Source must not be empty")
        if not os.path.exists(source):
            raise UsageError(f"invalid mount config for type \"bind\": bind source path does not exist: {source}")
        return MountSpec("bind", os.path.realpath(source), dest, ro, propagation=fields.get("bind-propagation", ""))
    if kind == "tmpfs":
        if source:
            raise UsageError("invalid mount config for type \"tmpfs\": field Source must be empty")
        opts = [f"size={fields['tmpfs-size']}"] if "tmpfs-size" in fields else []
        opts += [f"mode={fields['tmpfs-mode']}"] if "tmpfs-mode" in fields else []
        return MountSpec("tmpfs", "", dest, ro, tmpfs_options=tuple(opts))
    if source and not valid_name(source):
        raise UsageError(f"invalid mount config for type \"volume\": invalid volume name {source!r}")
    return MountSpec("volume", source, dest, ro, nocopy=_bool(fields.get("volume-nocopy", "false"), text),
                     labels=MappingProxyType(labels))


_ALIASES = {"src": "source", "dst": "target", "destination": "target", "ro": "readonly"}
_KEYS = {"type", "source", "target", "readonly", "bind-propagation", "bind-nonrecursive", "volume-nocopy",
         "volume-driver", "volume-opt", "tmpfs-size", "tmpfs-mode", "consistency"}


def _bool(value: str, text: str) -> bool:
    v = value.lower()
    if v in _TRUE or v in _FALSE:
        return v in _TRUE
    raise UsageError(f"invalid argument {text!r} for \"--mount\" flag: invalid boolean value {value!r}")


class MountPlan(NamedTuple):
    """A container's mounts: for the runtime, and as Docker's inspect `Mounts` list."""

    mounts: tuple[Mount, ...]
    inspect: tuple[dict[str, Any], ...]


def plan(store: Store, specs: Sequence[MountSpec], image_volumes: Iterable[str],
         volumes_from: Sequence[str] = ()) -> MountPlan:
    """Resolve the container's mount specs (named volumes made on first use, VOLUMEs anonymous)."""
    chosen: dict[str, MountSpec] = {}
    for spec in specs:
        if spec.destination in chosen:
            raise UsageError(f"duplicate mount point: {spec.destination}")
        chosen[spec.destination] = spec
    for spec in _from_containers(store, volumes_from):
        chosen.setdefault(spec.destination, spec)
    for dest in image_volumes:
        chosen.setdefault(os.path.normpath(dest), MountSpec("volume", "", os.path.normpath(dest)))
    vols = VolumeStore(store.paths)
    mounts, shown = [], []
    for spec in chosen.values():
        m, info = _resolve(vols, spec)
        mounts.append(m)
        shown.append(info)
    return MountPlan(tuple(mounts), tuple(shown))


def _resolve(vols: VolumeStore, spec: MountSpec) -> tuple[Mount, dict[str, Any]]:
    mode = "ro" if spec.read_only else "rw"
    if spec.type == "tmpfs":
        m = Mount(spec.destination, "tmpfs", "tmpfs", ("nosuid", "nodev", "noexec", mode, *spec.tmpfs_options))
        return m, _shown("tmpfs", "", spec, "", "")
    if spec.type == "bind":
        if not os.path.exists(spec.source):
            os.makedirs(spec.source, exist_ok=True)  # Docker's -v creates a missing host directory
        prop = spec.propagation or "rprivate"
        m = Mount(spec.destination, "bind", spec.source, ("rbind", mode, prop))
        return m, _shown("bind", spec.source, spec, "", prop)
    rec, made = vols.create(spec.source, spec.labels, created=now_rfc3339())
    if made:
        emit(vols.paths, "volume", "create", rec.name, {"driver": "local"})
    opts = ("rbind", mode, "rprivate") + (() if spec.nocopy else ("copyup",))
    m = Mount(spec.destination, "bind", str(vols.data(rec.name)), opts)
    info = _shown("volume", str(vols.data(rec.name)), spec, rec.name, "")
    return m, info


def _shown(kind: str, source: str, spec: MountSpec, name: str, propagation: str) -> dict[str, Any]:
    """One entry of Docker's inspect `Mounts`."""
    out: dict[str, Any] = {"Type": kind}
    if name:
        out["Name"] = name
    out.update(Source=source, Destination=spec.destination)
    if kind == "volume":
        out["Driver"] = "local"
    out.update(Mode="z" if kind == "volume" else ("ro" if spec.read_only and kind == "bind" else ""),
               RW=not spec.read_only, Propagation=propagation)
    return out


def _from_containers(store: Store, refs: Sequence[str]) -> list[MountSpec]:
    """`--volumes-from C[:ro|rw]`: C's volumes and binds at the same places."""
    records = ContainerStore(store.paths)
    out = []
    for ref in refs:
        name, _, mode = ref.partition(":")
        if mode not in ("", "ro", "rw"):
            raise UsageError(f"invalid mode for volumes-from: {mode}")
        rec = records.get(name)
        for m in rec.host_config.get("MountPoints") or ():
            if m["Type"] not in ("volume", "bind"):
                continue
            ro = (mode == "ro") if mode else not m.get("RW", True)
            out.append(MountSpec(m["Type"], m.get("Name") or m["Source"], m["Destination"], ro, nocopy=True))
    return out


# ---- which container uses which volume ------------------------------------------------------

def volumes_of(rec: ContainerRecord) -> list[str]:
    """The names of the volumes a container's record references."""
    return [m["Name"] for m in rec.host_config.get("MountPoints") or () if m.get("Type") == "volume"]


def users(store: Store) -> dict[str, list[str]]:
    """Volume name -> ids of the containers (any state) that reference it."""
    out: dict[str, list[str]] = {}
    for rec in ContainerStore(store.paths).list():
        for name in volumes_of(rec):
            out.setdefault(name, []).append(rec.id)
    return out


def remove_anonymous(store: Store, rec: ContainerRecord) -> list[str]:
    """`rm -v` / `run --rm`: the container's anonymous volumes that no other container references."""
    vols, used, removed = VolumeStore(store.paths), users(store), []
    for name in volumes_of(rec):
        others = [c for c in used.get(name, []) if c != rec.id]
        try:
            anonymous = vols.get(name).anonymous
        except NotFoundError:
            continue
        if anonymous and not others:
            vols.remove(name)
            emit(store.paths, "volume", "destroy", name, {"driver": "local"})
            removed.append(name)
    return removed


# ---- the `volume` commands --------------------------------------------------------------------

def inspect_json(vols: VolumeStore, rec: VolumeRecord) -> dict[str, Any]:
    """Docker's `volume inspect` object."""
    return {"CreatedAt": rec.created, "Driver": "local", "Labels": dict(rec.labels),
            "Mountpoint": str(vols.data(rec.name)), "Name": rec.name, "Options": dict(rec.options),
            "Scope": "local"}


def create(name: str, labels: Mapping[str, str], options: Mapping[str, str], driver: str = "local",
           store: Store | None = None) -> dict[str, Any]:
    """`volume create [NAME]`: the volume (made if missing) as inspect shows it."""
    if driver != "local":
        raise UsageError(f"volume driver {driver!r}: only \"local\" is available")
    store = store or _open()
    vols = VolumeStore(store.paths)
    rec, made = vols.create(name, labels, options, created=now_rfc3339())
    if made:
        emit(store.paths, "volume", "create", rec.name, {"driver": "local"})
    return inspect_json(vols, rec)


def inspect(names: Sequence[str], store: Store | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """`volume inspect`: (objects found, one error line per missing name)."""
    store = store or _open()
    vols = VolumeStore(store.paths)
    found, missing = [], []
    for n in names:
        try:
            found.append(inspect_json(vols, vols.get(n)))
        except NotFoundError:
            missing.append(f"Error: No such volume: {n}")
    return found, missing


def matches(rec: VolumeRecord, used: bool, filters: Mapping[str, Sequence[str]]) -> bool:
    """Docker's `volume ls`/`prune` filters: dangling=, label=K[=V], name= (substring), driver=."""
    for key, values in filters.items():
        if key == "dangling":
            if not any((v.lower() in ("true", "1")) != used for v in values):
                return False
        elif key == "label":
            if not all(_has_label(rec.labels, v) for v in values):
                return False
        elif key == "label!":  # `system prune --filter label!=K[=V]`
            if any(_has_label(rec.labels, v) for v in values):
                return False
        elif key == "name":
            if not any(v in rec.name for v in values):
                return False
        elif key == "driver":
            if "local" not in values:
                return False
        else:
            raise UsageError(f"invalid filter {key!r}")
    return True


def _has_label(labels: Mapping[str, str], want: str) -> bool:
    k, eq, v = want.partition("=")
    return k in labels and (not eq or labels[k] == v)


def list_volumes(filters: Mapping[str, Sequence[str]], store: Store | None = None) -> list[dict[str, Any]]:
    """`volume ls`: inspect objects of the volumes the filters keep."""
    from minidock.engine.filterargs import checked_dangling

    checked_dangling(filters.get("dangling", ()))
    store = store or _open()
    vols, used = VolumeStore(store.paths), users(store)
    return [inspect_json(vols, r) for r in vols.list() if matches(r, r.name in used, filters)]


def remove(names: Sequence[str], force: bool = False, store: Store | None = None) -> tuple[list[str], list[str]]:
    """`volume rm [-f]`: (removed names, one error line per failure); -f ignores missing volumes only."""
    store = store or _open()
    vols, used = VolumeStore(store.paths), users(store)
    done, errors = [], []
    for n in names:
        try:
            vols.remove(n, tuple(used.get(n, ())))
            emit(store.paths, "volume", "destroy", n, {"driver": "local"})
            done.append(n)
        except NotFoundError as e:
            if not force:
                errors.append(f"Error: {e}")
        except ConflictError as e:
            errors.append(f"Error response from daemon: {e}")
    return done, errors


def prune(filters: Mapping[str, Sequence[str]], store: Store | None = None) -> tuple[list[str], int]:
    """`volume prune`: every unused volume the filters keep (Docker 20.10: named ones too); (names, bytes)."""
    store = store or _open()
    vols, used = VolumeStore(store.paths), users(store)
    gone, freed = [], 0
    for rec in vols.list():
        if rec.name in used or not matches(rec, False, filters):
            continue
        size = vols.size(rec.name)
        vols.remove(rec.name)
        emit(store.paths, "volume", "destroy", rec.name, {"driver": "local"})
        gone.append(rec.name)
        freed += size
    return gone, freed


def _open() -> Store:
    from minidock.engine.lookup import open_store

    return open_store()
