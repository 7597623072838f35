"""`images [REPOSITORY[:TAG]] [--filter K=V]`: Docker's selection of image rows.

Filters (values of one key are alternatives, different keys must all match): `dangling=true|false`,
`label=KEY[=VALUE]`, `reference=PATTERN` (Go's path.Match on `repo` or `repo:tag`: `*` stays within
one path segment), `before=IMAGE` / `since=IMAGE` (created before / after that image). The
REPOSITORY argument is a reference filter of its own (with its tag, if given).
"""

import re
from collections.abc import Mapping, Sequence

from minidock.engine.images import ImageSummary, resolve
from minidock.errors import MinidockError, UsageError
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import ImageConfig
from minidock.store.store import Store

KEYS = ("dangling", "label", "reference", "before", "since")


def path_match(pattern: str, name: str) -> bool:
    """Go's path.Match: `*` and `?` never match `/`, `[...]` classes, `\\` escapes."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise UsageError(f"invalid reference filter {pattern!r}: syntax error in pattern")
            body = pattern[i + 1:end]
            out.append("[" + ("^" + body[1:] if body.startswith("^") else body) + "]")
            i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.fullmatch("".join(out), name) is not None


def _labels(store: Store, image_id: Digest, cache: dict[Digest, Mapping[str, str]]) -> Mapping[str, str]:
    if image_id not in cache:
        try:
            cache[image_id] = ImageConfig.from_bytes(store.content.read(image_id), str(image_id)).config.labels
        except (MinidockError, OSError, ValueError):
            cache[image_id] = {}
    return cache[image_id]


def _created_of(store: Store, ref: str) -> str:
    rec = resolve(store, ref)
    return ImageConfig.from_bytes(store.content.read(store.images.image_id(rec)), ref).created


def _one(store: Store, row: ImageSummary, key: str, value: str, labels: dict[Digest, Mapping[str, str]]) -> bool:
    dangling = row.repository == "<none>"
    if key == "dangling":
        return dangling == (value.lower() in ("true", "1"))
    if key == "label":
        found = _labels(store, row.image_id, labels)
        k, eq, v = value.partition("=")
        return k in found and (not eq or found[k] == v)
    if key == "reference":
        return not dangling and (path_match(value, row.repository) or path_match(value, f"{row.repository}:{row.tag}"))
    created = _created_of(store, value)
    return row.created < created if key == "before" else row.created > created


def select(store: Store, rows: Sequence[ImageSummary], repository: str = "",
           filters: Mapping[str, Sequence[str]] | None = None) -> list[ImageSummary]:
    """The rows that REPOSITORY[:TAG] and the filters keep (Docker's rules, order kept)."""
    terms = {k: list(v) for k, v in (filters or {}).items()}
    for key in terms:
        if key not in KEYS:
            raise UsageError(f"invalid filter '{key}'")
    from minidock.engine.filterargs import checked_dangling

    checked_dangling(terms.get("dangling", ()))
    if repository:
        terms.setdefault("reference", []).append(repository)
    labels: dict[Digest, Mapping[str, str]] = {}
    return [r for r in rows if all(any(_one(store, r, k, v, labels) for v in vs) for k, vs in terms.items())]
