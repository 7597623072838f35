"""`ps` and `inspect` as Docker prints them: rows, headers, templates. One implementation for the
typer commands and for the quick path (cli/quick.py), so it imports no typer, rich or typing.

Rows carry the fields of docker/cli's formatter contexts (ContainerContext: ID, Image, Command,
CreatedAt, RunningFor, Ports, State, Status, Size, Names, Labels, Label "k", Mounts,
LocalVolumes, Networks), keys in the order Docker's `{{json .}}` prints them.
"""

from __future__ import annotations

import sys

from minidock.cli import formatting
from minidock.engine import glance

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PS_HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
              "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE",
              "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS", "LocalVolumes": "LOCAL VOLUMES",
              "Networks": "NETWORKS"}
PS_DEFAULT = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"


def ps_row(d: dict[str, Any], no_trunc: bool = False, size: bool = False) -> Any:
    """docker ps's fields for the record `d` (`size`: its SIZE measured, else "N/A")."""
    hc = d.get("host_config") or {}
    labels = glance.labels(d)
    mounts = [str(m.get("Name") or m.get("Source") or "") for m in hc.get("MountPoints") or ()]
    return formatting.row("*formatter.ContainerContext", {
        "Command": glance.command_text(d, not no_trunc), "CreatedAt": glance.docker_time(d.get("created") or ""),
        "ID": str(d.get("id", ""))[:None if no_trunc else 12], "Image": d.get("image", ""),
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        "LocalVolumes": str(sum(m.get("Type") == "volume" for m in hc.get("MountPoints") or ())),
        "Mounts": ",".join(mounts), "Names": d.get("name", ""), "Networks": hc.get("NetworkMode", ""),
        "Ports": glance.ports_text(d), "RunningFor": glance.created_text(d),
        "Size": glance.size_text(*glance.container_sizes(d)) if size else "N/A",
        "State": d.get("status", ""), "Status": glance.status_text(d), "Label": formatting.label_method(labels)})


class PsOptions:
    """`ps` flags: -a, -q, --no-trunc, --format, --filter, -n/--last, -l/--latest, -s/--size."""

    __slots__ = ("all", "filters", "format", "last", "no_trunc", "quiet", "size")

    def __init__(self, all_: bool = False, quiet: bool = False, no_trunc: bool = False, fmt: str = "", *,
                 filters: list[str] | None = None, last: int = -1, size: bool = False) -> None:
        self.all, self.quiet, self.no_trunc, self.format = all_, quiet, no_trunc, fmt
        self.filters, self.last, self.size = list(filters or []), last, size


def _selected(opts: PsOptions) -> list[dict[str, Any]]:
    records = glance.records()
    every = opts.all or opts.last >= 0
    if opts.filters:
        from minidock.engine.filters import PsFilter

        f = PsFilter.parse(opts.filters)
        every = every or f.shows_all
        records = [d for d in f.window(records, _ident) if f.matches_json(d)]  # why not engine/info: ~8 ms
    chosen = [d for d in records if every or d.get("status") in glance.ACTIVE]
    return chosen[:opts.last] if opts.last >= 0 else chosen


def _ident(d: dict[str, Any]) -> tuple[str, str]:
    return str(d.get("id", "")), str(d.get("name", ""))


def ps(opts: PsOptions) -> None:
    """Print `docker ps` for `opts`."""
    chosen = _selected(opts)
    if opts.quiet:
        out = "".join(str(d.get("id", ""))[:None if opts.no_trunc else 12] + "\n" for d in chosen)
    else:
        # Docker's client asks for sizes with -s, or when the template calls .Size (`json .` does)
        size = opts.size or ".Size" in opts.format or "json" in opts.format
        rows = [ps_row(d, opts.no_trunc, size) for d in chosen]
        headers = {**PS_HEADERS, "Label": formatting.label_header}
        default = PS_DEFAULT + "\t{{.Size}}" if opts.size else PS_DEFAULT
        out = formatting.render_rows(opts.format, rows, headers, default, formatting.PS)
    sys.stdout.write(out)


def inspect(names: list[str], kind: str = "", fmt: str = "", size: bool = False) -> int:
    """`docker inspect [--type container|image] [-f FORMAT] [-s] NAME...`: what exists is printed (JSON,
    or the template per object); each missing name is `Error: No such object: NAME` and exit 1.
    A container's SizeRw and SizeRootFs are measured with -s; without, a template sees them nil."""
    from minidock.errors import MinidockError, NotFoundError

    found: list[Any] = []
    missing: list[str] = []
    for n in names:
        try:
            found.append(_container_or_image(n, kind, size, bool(fmt)))
        except NotFoundError:
            missing.append(n)
        except MinidockError as e:
            print(f"minidock: {e}", file=sys.stderr)
            missing.append("")
    if fmt:
        sys.stdout.write(formatting.render_objects(fmt, [formatting.to_struct(o) for o in found]))
    else:
        sys.stdout.write(formatting.json_indent(found) + "\n")
    what = {"container": "container", "image": "image"}.get(kind, "object")
    for n in missing:
        if n:
            print(f"Error: No such {what}: {n}", file=sys.stderr)
    return 1 if missing else 0


def _container_or_image(name: str, kind: str, size: bool = False, template: bool = False) -> Any:
    from minidock.errors import NotFoundError

    if kind != "image":
        try:
            from minidock.engine.inspectjson import container_json

            d = glance.find(name)
            out = container_json(d)
            if size or template:  # Docker's *int64 fields with omitempty: absent from the JSON unless -s
                from minidock.gotemplate import NIL

                rw, rootfs = glance.container_sizes(d) if size else (NIL, NIL)
                items = list(out.items())
                at = list(out).index("GraphDriver") + 1
                out = dict([*items[:at], ("SizeRw", rw), ("SizeRootFs", rootfs), *items[at:]])
            return out
        except NotFoundError:
            if kind == "container":
                raise
    from minidock.engine.imagejson import image_json

    plain = image_json(name)
    if plain is None:  # a plain NAME[:TAG] in a current index needs no store classes (~20 ms)
        from minidock.engine import images
        from minidock.engine.lookup import open_store

        plain = images.inspect_image(open_store(), name).to_docker_json()
    return _omit_variant(plain, template)


def _omit_variant(image: dict[str, Any], template: bool) -> dict[str, Any]:
    """Docker's Variant (a string with omitempty): absent from the JSON when empty, "" to a template."""
    if image.get("Variant") is None:
        if template:
            image["Variant"] = ""
        else:
            image.pop("Variant", None)
    return image


IMAGE_HEADERS = {"ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
                 "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS",
                 "VirtualSize": "SIZE", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE"}
IMAGE_DEFAULT = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
IMAGE_DIGESTS = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"


def image_row(s: Any, no_trunc: bool = False) -> Any:
    """docker images's fields (docker/cli's ImageContext) for one ImageSummary (or imageglance.ImageView)."""
    from minidock.engine.humanize import human_size

    size = human_size(s.size)
    return formatting.row("*formatter.imageContext", {
        "Containers": "N/A", "CreatedAt": glance.docker_time(s.created),
        "CreatedSince": glance.ago(s.created),
        "Digest": str(s.digest) if s.digest else "<none>", "ID": str(s.image_id) if no_trunc else s.image_id.short,
        "Repository": s.repository, "SharedSize": "N/A", "Size": size, "Tag": s.tag, "UniqueSize": "N/A",
        "VirtualSize": human_size(s.size, 4)})  # go-units HumanSize: four digits


def images(quiet: bool = False, fmt: str = "", no_trunc: bool = False, digests: bool = False, *,
           repository: str = "", filters: list[str] | None = None) -> None:
    """Print `docker images` (REPOSITORY[:TAG], -q, --no-trunc, --digests, --format, --filter); the
    index read as plain JSON when it is current (engine/imageglance.py) and nothing is filtered, else
    through the engine."""
    from minidock.engine import imageglance

    plain = not filters and not any(c in repository for c in "*?[\\")  # REPOSITORY[:TAG] matched as is
    rows: list[Any] | None = imageglance.images() if plain else None
    if rows is not None and repository:  # imagefilter's reference rule for a pattern without wildcards
        rows = [s for s in rows if s.repository != "<none>" and repository in (s.repository, f"{s.repository}:{s.tag}")]
    if rows is None:
        from minidock.engine import images as engine_images
        from minidock.engine.lookup import open_store

        store = open_store()
        rows = engine_images.list_images(store)
        if repository or filters:
            from minidock.engine.filterargs import grouped
            from minidock.engine.imagefilter import KEYS, select

            rows = select(store, rows, repository, grouped(filters or [], "images", KEYS))
    if quiet:
        sys.stdout.write("".join((str(s.image_id) if no_trunc else s.image_id.short) + "\n" for s in rows))
        return
    sys.stdout.write(formatting.render_rows(fmt, [image_row(s, no_trunc) for s in rows], IMAGE_HEADERS,
                                            IMAGE_DIGESTS if digests else IMAGE_DEFAULT))
