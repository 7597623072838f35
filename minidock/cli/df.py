"""`system df -v` as docker/cli 20.10 prints it (formatter/disk_usage.go, verboseWrite).

With no format (or `table`): four sections, each a title, a blank line and a table (images, containers,
local volumes, then the build cache under its total). Any other format is one template run once over
the lists `.Images`, `.Containers`, `.Volumes` and `.BuildCache` (no newline added; IDs cut to 12
characters when it starts with `table`); `raw` is Docker's raw listing of every object, and `json`
is `{{json .}}` (Docker 23's shorthand; 20.10 prints the word).
"""

from __future__ import annotations

import time
from typing import Any

from minidock.cli import formatting
from minidock.cli.listing import IMAGE_HEADERS, PS_HEADERS, ps_row
from minidock.engine import glance
from minidock.engine.humanize import human_duration, human_size

IMAGE_TABLE = ("table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t"
               "{{.UniqueSize}}\t{{.Containers}}")
CONTAINER_TABLE = ("table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t"
                   "{{.Status}}\t{{.Names}}")
VOLUME_TABLE = "table {{.Name}}\t{{.Links}}\t{{.Size}}"
CACHE_TABLE = ("table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t"
               "{{.Shared}}")
VOLUME_HEADERS = {"Name": "VOLUME NAME", "Links": "LINKS", "Size": "SIZE"}
CACHE_HEADERS = {"ID": "CACHE ID", "CacheType": "CACHE TYPE", "Size": "SIZE", "CreatedSince": "CREATED",
                 "LastUsedSince": "LAST USED", "UsageCount": "USAGE", "Shared": "SHARED"}

# docker/cli's raw formats: NewImageFormat(raw, digest), NewContainerFormat(raw, size), NewVolumeFormat,
# NewBuildCacheFormat, each under a `type:` line and followed by a blank line
RAW = """{{range .Images}}type: Image
repository: {{ .Repository }}
tag: {{.Tag}}
digest: {{.Digest}}
image_id: {{.ID}}
created_at: {{.CreatedAt}}
virtual_size: {{.Size}}

{{end -}}
{{range .Containers}}type: Container
container_id: {{.ID}}
image: {{.Image}}
command: {{.Command}}
created_at: {{.CreatedAt}}
state: {{- pad .State 1 0}}
status: {{- pad .Status 1 0}}
names: {{.Names}}
labels: {{- pad .Labels 1 0}}
ports: {{- pad .Ports 1 0}}
size: {{.Size}}

{{end -}}
{{range .Volumes}}type: Volume
name: {{.Name}}
driver: {{.Driver}}

{{end -}}
{{range .BuildCache}}type: Build Cache
build_cache_id: {{.ID}}
parent_id: {{.Parent}}
build_cache_type: {{.CacheType}}
description: {{.Description}}
created_at: {{.CreatedAt}}
created_since: {{.CreatedSince}}
last_used_at: {{.LastUsedAt}}
last_used_since: {{.LastUsedSince}}
usage_count: {{.UsageCount}}
in_use: {{.InUse}}
shared: {{.Shared}}

{{end -}}"""

# a template that does not parse is wrapped as everywhere; one that fails to run is Go's error as is
VERBOSE = formatting.Errors(("template parsing error: ", 1), ("", 1))


def render(fmt: str, du: Any, now: float | None = None) -> str:
    """`system df -v [--format fmt]` of an engine.diskusage.DiskUsage (ages as at `now`)."""
    now = time.time() if now is None else now
    if fmt in ("", "table"):
        return "".join((
            "Images space usage:\n\n",
            formatting.render_rows("", [_image(i, True, now) for i in du.images], IMAGE_HEADERS, IMAGE_TABLE),
            "\nContainers space usage:\n\n",
            formatting.render_rows("", [_container(c, True) for c in du.containers], PS_HEADERS, CONTAINER_TABLE),
            "\nLocal Volumes space usage:\n\n",
            formatting.render_rows("", [_volume(v) for v in du.volumes], VOLUME_HEADERS, VOLUME_TABLE),
            f"\nBuild cache usage: {human_size(du.cache_size, 4)}\n\n",
            formatting.render_rows("", [_cache(c, True, now) for c in du.cache], CACHE_HEADERS, CACHE_TABLE)))
    fmt = {"raw": RAW, "json": "{{json .}}"}.get(fmt, fmt)
    trunc = fmt.startswith("table")
    data = formatting.row("*formatter.diskUsageContext", {
        "Images": [_image(i, trunc, now) for i in du.images],
        "Containers": [_container(c, trunc) for c in du.containers],
        "Volumes": [_volume(v) for v in du.volumes], "BuildCache": [_cache(c, trunc, now) for c in du.cache]})
    return formatting.render_object(fmt, data, VERBOSE, end="")


def _short(text: str) -> str:
    """stringid.TruncateID: what follows the algorithm, 12 characters."""
    return text.split(":", 1)[-1][:12]


def _image(i: Any, trunc: bool, now: float) -> Any:
    """docker/cli's imageContext of one engine.diskusage.ImageUsage."""
    at = glance.epoch(i.created or "")
    zero = at is None or i.created.startswith("0001-")  # Docker's zero time: no CREATED
    return formatting.row("*formatter.imageContext", {
        "Containers": str(i.containers), "CreatedAt": glance.docker_time(i.created),
        "CreatedSince": "" if zero else f"{human_duration(now - int(at or 0))} ago", "Digest": "",
        "ID": _short(str(i.image_id)) if trunc else str(i.image_id), "Repository": i.repository,
        "SharedSize": human_size(i.shared, 4), "Size": human_size(i.size), "Tag": i.tag,
        "UniqueSize": human_size(i.unique, 4), "VirtualSize": human_size(i.size, 4)})


def _container(c: Any, trunc: bool) -> Any:
    """`ps`'s row of the container, its SIZE the writable layer alone (Docker drops the virtual size)."""
    out = ps_row(c.record, no_trunc=not trunc)
    out["Size"] = human_size(c.size)
    return out


def _volume(v: Any) -> Any:
    return formatting.row("*formatter.volumeContext", {
        "Driver": "local", "Labels": ",".join(f"{k}={x}" for k, x in sorted(v.labels.items())),
        "Links": str(v.links), "Mountpoint": v.mountpoint, "Name": v.name, "Scope": "local",
        "Size": human_size(v.size, 4), "Label": formatting.label_method(v.labels)})


def _go_time(at: float) -> str:
    """Go's Time.String in UTC: "2024-01-02 03:04:05.123456 +0000 UTC" (fraction without trailing zeros)."""
    fraction = f"{int(at % 1 * 1e6):06d}".rstrip("0")
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at)) + (f".{fraction}" if fraction else "") + " +0000 UTC"


def _cache(c: Any, trunc: bool, now: float) -> Any:
    """docker/cli's buildCacheContext of one engine.diskusage.CacheUsage (`*` marks one in use)."""
    used = c.last_used
    return formatting.row("*formatter.buildCacheContext", {
        "CacheType": c.type, "CreatedAt": _go_time(c.created),
        "CreatedSince": f"{human_duration(now - c.created)} ago", "Description": c.description,
        "ID": (_short(c.id) if trunc else c.id) + ("*" if c.in_use else ""), "InUse": str(c.in_use).lower(),
        "LastUsedAt": "" if used is None else _go_time(used),
        "LastUsedSince": "" if used is None else f"{human_duration(now - used)} ago",
        "Parent": _short(c.parent) if trunc else c.parent, "Shared": str(c.shared).lower(),
        "Size": human_size(c.size), "UsageCount": str(c.usage_count)})
