"""`docker image inspect`'s JSON for an image named by a plain reference, read as plain JSON with
engine/imageglance.py's rules: the quick path of `inspect IMAGE` (engine/images.py and the store's
classes cost ~20 ms of imports). The object equals `inspect_image(store, text).to_docker_json()`;
anything else (an id or id prefix, a digest reference, a name not in a current index, an index
manifest, a value the typed readers would reject or convert) is None, and the engine answers.
"""

from __future__ import annotations

from minidock.engine import glance, imageglance

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-/:")


def reference_key(text: str) -> str | None:
    """The record name `Reference.parse(text)` gives for a plain NAME[:TAG] (None for anything else;
    a name that is not a valid reference is in no index, so a hit is the same image)."""
    if not text or "@" in text or not set(text) <= _NAME_CHARS or text.startswith(("/", ":")):
        return None
    first, slash, rest = text.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost"):
        domain, remainder = "docker.io", text
    else:
        domain, remainder = ("docker.io" if first == "index.docker.io" else first), rest
    if domain == "docker.io" and "/" not in remainder:
        remainder = "library/" + remainder
    if ":" not in remainder.rsplit("/", 1)[-1]:
        remainder += ":latest"
    return f"{domain}/{remainder}"


def image_json(text: str, store: str | None = None) -> dict[str, Any] | None:
    """The inspect object of the image `text` names, or None (the engine's reader decides)."""
    store = store or glance.root()
    key = reference_key(text)
    try:
        records = imageglance.current_index(store) if key is not None else None
        if records is None or key not in records:
            return None
        return _inspect(store, records, key)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _config_digest(store: str, rec: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    """(manifest, config digest) of a record that points at a plain v2 manifest."""
    target = rec["target"]
    if not isinstance(target, dict) or target.get("mediaType", "").endswith(("index.v1+json", "list.v2+json")):
        return None
    manifest = imageglance.blob(store, str(target["digest"]))
    body_type, content_type = str(manifest.get("mediaType", "")), str(target.get("mediaType", ""))
    if manifest.get("schemaVersion") != 2 or not isinstance(manifest.get("layers"), list) or (
            body_type and content_type and body_type != content_type):
        return None
    return manifest, str(manifest["config"]["digest"])


def _inspect(store: str, records: dict[str, Any], key: str) -> dict[str, Any] | None:
    found = _config_digest(store, records[key])
    if found is None:
        return None
    manifest, image_id = found
    config = imageglance.blob(store, image_id)
    rootfs = config.get("rootfs") or {}
    layers = [str(x) for x in rootfs.get("diff_ids") or ()]
    if rootfs.get("type", "layers") != "layers" or not all(_is_digest(x) for x in layers):
        return None
    run = _container_config(config.get("config") or {})
    size = imageglance.image_size(store, manifest, config)
    names = _names(store, records, image_id)
    if run is None or size is None or names is None:
        return None
    history = [h for h in config.get("history") or () if isinstance(h, dict)]
    return {"Id": image_id, "RepoTags": names[0], "RepoDigests": names[1], "Parent": "",
            "Comment": next((c for c in (str(h.get("comment", "")) for h in reversed(history)) if c), ""),
            "Created": str(config.get("created") or ""), "DockerVersion": str(config.get("docker_version", "")),
            "Author": str(config.get("author") or ""), "Config": run,
            "Architecture": str(config.get("architecture", "")), "Variant": str(config.get("variant") or "") or None,
            "Os": str(config.get("os", "")), "Size": size, "VirtualSize": size,
            "GraphDriver": imageglance.image_graph_driver(layers, store),
            "RootFS": {"Type": "layers", "Layers": layers},
            "Metadata": {"LastTagTime": str(records[key].get("created", ""))}}


def _is_digest(text: str) -> bool:
    algorithm, _, hex_ = text.partition(":")
    return algorithm == "sha256" and len(hex_) == 64 and all(c in "0123456789abcdef" for c in hex_)


def _names(store: str, records: dict[str, Any], image_id: str) -> tuple[list[str], list[str]] | None:
    """(RepoTags, RepoDigests): every name of the image, in the store's order (sorted by name)."""
    tags, digests = [], []
    for name, rec in sorted(records.items()):
        found = _config_digest(store, rec)  # None: not an image manifest, which the engine skips too
        if found is None or found[1] != image_id or name.startswith("<none>@"):
            continue
        repo, tag, digest = imageglance.familiar(name)
        if tag != "<none>":
            tags.append(f"{repo}:{tag}")
        digests.append(f"{repo}@{digest or rec.get('index') or rec['target']['digest']}")
    return tags, sorted(set(digests))


def _strs(value: Any, missing: list[str] | None) -> list[str] | None:
    """imageconfig._strs / _opt_strs: `missing` for None, the items as text for a list."""
    if value is None:
        return missing
    if not isinstance(value, list):
        raise ValueError("not a list")  # the typed reader refuses it: the engine says so
    return [str(x) for x in value]


def _container_config(d: dict[str, Any]) -> dict[str, Any] | None:
    """oci/imageconfig.py ContainerConfig.from_json(d).to_json()."""
    if not isinstance(d, dict) or not isinstance(d.get("Labels") or {}, dict) or not isinstance(
            d.get("Healthcheck") or {}, dict):
        return None
    out: dict[str, Any] = {}
    ports, volumes = sorted((d.get("ExposedPorts") or {}).keys()), sorted((d.get("Volumes") or {}).keys())
    labels = {str(k): str(v) for k, v in (d.get("Labels") or {}).items()}
    for key, value in (("User", str(d.get("User") or "")), ("ExposedPorts", {p: {} for p in ports}),
                       ("Env", _strs(d.get("Env"), [])), ("Entrypoint", _strs(d.get("Entrypoint"), None)),
                       ("Cmd", _strs(d.get("Cmd"), None)),
                       ("Volumes", {v: {} for v in volumes}), ("WorkingDir", str(d.get("WorkingDir") or "")),
                       ("Labels", dict(sorted(labels.items()))), ("StopSignal", str(d.get("StopSignal") or "")),
                       ("Healthcheck", dict(d.get("Healthcheck") or {})), ("OnBuild", _strs(d.get("OnBuild"), [])),
                       ("Shell", _strs(d.get("Shell"), None))):
        if value or (value is not None and key in ("Entrypoint", "Cmd", "Shell")):
            out[key] = value
    if d.get("ArgsEscaped", False):
        out["ArgsEscaped"] = True
    return out
