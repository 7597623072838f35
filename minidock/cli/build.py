"""`minidock build`, `history`, `commit`, `builder prune` and `system prune`: flags in, one engine call,
Docker-like output."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import typer as typer_types

    from minidock.engine import build as eng_types

_TRUNC = 45


def build_cmd(req: eng_types.BuildRequest, mode: str) -> None:
    """Build, showing progress as `mode` says ("quiet": only the image id, on stdout; the progress is
    kept and shown only when the build fails, as `docker build -q` does)."""
    import io

    from minidock.cli.buildprogress import Plain, Tty
    from minidock.engine import build as eng
    from minidock.errors import MinidockError

    kept = io.StringIO() if mode == "quiet" else None
    printer = Plain(kept, req.tags) if kept is not None else Tty(sys.stderr) if mode == "tty" else \
        Plain(sys.stderr, req.tags)
    try:
        result = eng.build_image(req, printer, stdout=sys.stdout.buffer)
    except MinidockError as e:
        printer.fail(str(e))
        if kept is not None:
            sys.stderr.write(kept.getvalue())
        raise
    if kept is not None and not req.outputs:
        print(result.image_id)


HISTORY_HEADERS = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
                   "Size": "SIZE", "Comment": "COMMENT"}
HISTORY_DEFAULT = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"


def history_cmd(image: str, no_trunc: bool, quiet: bool, fmt: str = "") -> None:
    from minidock.engine import build as eng
    from minidock.engine.humanize import ago, human_size  # lazy: as above

    rows = eng.image_history(image)

    def short(r: eng_types.HistoryRow) -> str:
        return r.image if no_trunc or r.image == "<missing>" else r.image.removeprefix("sha256:")[:12]

    def by(text: str) -> str:
        return text if no_trunc or len(text) <= _TRUNC else text[: _TRUNC - 1] + "…"
    if quiet:
        for r in rows:
            print(short(r))
        return
    from minidock.cli.formatting import render_rows, row
    from minidock.engine.glance import docker_time

    shown = [row("*formatter.historyContext", {
        "Comment": r.comment, "CreatedAt": docker_time(r.created), "CreatedBy": by(r.created_by),
        "CreatedSince": ago(r.created), "ID": short(r), "Size": human_size(r.size)}) for r in rows]
    print(render_rows(fmt, shown, HISTORY_HEADERS, HISTORY_DEFAULT), end="")


def builder_prune_cmd(all_: bool, force: bool = True, filters: list[str] | None = None, keep_storage: str = "") -> None:
    """`builder prune`: Docker's checks and question, then its lines (the layers removed, the space)."""
    from minidock.cli.prompt import confirm  # lazy: as below
    from minidock.engine import cacheprune
    from minidock.engine.humanize import human_size  # lazy: `build` (the hot path) prints no sizes

    keep = cacheprune.parse_keep_storage(keep_storage) if keep_storage else 0
    until = cacheprune.parse_filters(filters or [])
    warning = "all build cache" if all_ else "all dangling build cache"
    if not force and not confirm(f"WARNING! This will remove {warning}. Are you sure you want to continue?"):
        print("Total reclaimed space: 0B")
        return
    r = cacheprune.prune_build_cache(all_, until=until, keep_storage=keep)
    if r.gc.snapshots:
        print("Deleted build cache objects:", *(sid[:25] for sid in r.gc.snapshots), "", sep="\n")
    print(f"Total reclaimed space: {human_size(r.reclaimed)}")


def system_prune_question(all_: bool, volumes: bool, filters: list[str]) -> str:
    """Docker's question: what will go, and the filters that select it."""
    what = ["all stopped containers", "all networks not used by at least one container",
            *(["all volumes not used by at least one container"] if volumes else []),
            "all images without at least one container associated to them" if all_ else "all dangling images",
            "all build cache" if all_ else "all dangling build cache"]
    text = "WARNING! This will remove:\n" + "".join(f"  - {w}\n" for w in what)
    if filters:
        text += "\n  Items to be pruned will be filtered with:\n" + "".join(f"  - {f}\n" for f in filters)
    return text + "\nAre you sure you want to continue?"


def system_prune_cmd(all_: bool = False, force: bool = False, volumes: bool = False,
                     filters: list[str] | None = None) -> None:
    """`system prune [-a] [-f] [--volumes] [--filter ...]`: Docker's prompt, then a section per kind removed."""
    from minidock.cli.prompt import confirm  # lazy: as below
    from minidock.engine import sysprune
    from minidock.engine.humanize import human_size  # lazy: `build` (the hot path) prints no sizes

    chosen = sysprune.check_filters(filters or [], volumes)
    if not force and not confirm(system_prune_question(all_, volumes, filters or [])):
        return
    r = sysprune.system_prune(all_=all_, volumes=volumes, filters=chosen)
    for title, items in (("Deleted Containers:", r.containers), ("Deleted Networks:", r.networks),
                         ("Deleted Volumes:", list(r.volumes)), ("Deleted Images:", r.image_lines),
                         ("Deleted build cache objects:", [s[:25] for s in r.cache.gc.snapshots])):
        if items:
            print(title, *items, "", sep="\n")
    print(f"Total reclaimed space: {human_size(r.reclaimed, 4)}")


def _register_prune(app: typer_types.Typer) -> None:
    """`builder prune` and `system prune`."""
    import typer

    from minidock.cli.groups import sub_app  # lazy: only the typer app registers sub-commands

    force = typer.Option(False, "-f", "--force", help="do not prompt for confirmation")
    every = typer.Option(False, "-a", "--all", help="all cache entries and cache mounts")
    unused = typer.Option(False, "-a", "--all", help="remove all unused images and all build cache, not just "
                          "dangling ones")

    def builder_prune(f: bool = force, all_: bool = every,
                      filters: list[str] = typer.Option([], "--filter", help="until=DURATION (e.g. 24h)"),  # noqa: B008
                      keep: str = typer.Option("", "--keep-storage", help="bytes of cache to keep (e.g. 1GB)")) -> None:
        """Remove build cache entries (and their layers) no image uses."""
        builder_prune_cmd(all_, f, filters, keep)

    def system_prune(f: bool = force, all_: bool = unused,
                     volumes: bool = typer.Option(False, "--volumes", help="prune volumes too"),
                     filters: list[str] = typer.Option([], "--filter", help="until=TIME, label=K[=V], "  # noqa: B008
                                                       "label!=K[=V]")) -> None:
        """Remove stopped containers, unused networks, dangling (-a: unused) images and build cache."""
        system_prune_cmd(all_, f, volumes, filters)
    sub_app(app, "builder", "Manage builds").command("prune")(builder_prune)
    sub_app(app, "system", "Manage minidock").command("prune")(system_prune)


def register(app: typer_types.Typer) -> None:
    """Add `history`, `commit`, `builder prune` and `system prune` (`build` is listed by cli/runcmd.py)."""
    _register_image_commands(app)
    _register_prune(app)


def build_main(argv: list[str]) -> int:
    """The whole `minidock build ARGS` (argparse: see cli/buildargs.py); returns the exit code."""
    from minidock.cli.failures import guarded

    def body() -> int:
        from minidock.cli import buildargs

        req, mode = buildargs.parse(argv)
        build_cmd(req, mode)
        return 0
    return guarded(body, failure=1)


def _register_image_commands(app: typer_types.Typer) -> None:
    """`history` and `commit`."""
    import typer

    @app.command("history")
    def history(image: str = typer.Argument(..., help="IMAGE (name or id prefix)"),
                no_trunc: bool = typer.Option(False, "--no-trunc", help="do not truncate output"),
                quiet: bool = typer.Option(False, "-q", "--quiet", help="only show image IDs"),
                fmt: str = typer.Option("", "--format", help="Go template, 'table TEMPLATE' or 'json'"),
                human: str = typer.Option("true", "-H", "--human", help="(sizes are always human)")) -> None:
        """Show the history of an image."""
        history_cmd(image, no_trunc, quiet, fmt)

    @app.command("commit")
    def commit(*, container: str = typer.Argument(..., help="CONTAINER (name or id)"),
               repository: str = typer.Argument("", help="REPOSITORY[:TAG]"),
               message: str = typer.Option("", "-m", "--message", help="commit message"),
               author: str = typer.Option("", "-a", "--author", help="author"),
               change: list[str] = typer.Option([], "-c", "--change",  # noqa: B008
                                                help="apply a Dockerfile instruction (CMD, ENV, LABEL, ...)"),
               pause: bool = typer.Option(True, "-p/--pause", help="pause the container during commit")) -> None:
        """Create a new image from a container's changes."""
        from minidock.engine.commit import commit_container

        print(commit_container(container, repository, comment=message, author=author, changes=tuple(change),
                               pause=pause))
