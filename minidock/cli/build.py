"""`minidock build`, `history`, `commit`, `builder prune` and `system prune`: flags in, one engine call,
Docker-like output."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from minidock.cli.groups import sub_app
from minidock.engine.humanize import ago, human_size

if TYPE_CHECKING:
    import typer as typer_types

    from minidock.engine import build as eng_types

_TRUNC = 45


class _Printer:
    """Renders build events like the classic builder (`Step 2/5 : RUN ...`, ` ---> Using cache`)."""

    def __init__(self, out: TextIO, quiet: bool) -> None:
        self.out, self.quiet = out, quiet

    def __call__(self, e: eng_types.BuildEvent) -> None:
        from minidock.engine import build as eng

        if self.quiet:
            return
        if isinstance(e, eng.StepStarted):
            line = f"Step {e.number}/{e.total} : {e.text}"
        elif isinstance(e, eng.StepOutput):
            self.out.write(e.data.decode("utf-8", "replace"))
            self.out.flush()
            return
        elif isinstance(e, eng.StepDone):
            line = " ---> Using cache" if e.cached else f" ---> Done in {e.seconds:.2f}s"
        elif isinstance(e, eng.BuildNote):
            line = e.text
        else:
            line = f"Successfully built {e.image_id.short} in {e.seconds:.2f}s"
            line += "".join(f"\nSuccessfully tagged {eng.familiar_name(n)}" for n in e.names)
        print(line, file=self.out, flush=True)


def build_cmd(req: eng_types.BuildRequest, quiet: bool) -> None:
    from minidock.engine import build as eng

    result = eng.build_image(req, _Printer(sys.stdout, quiet))
    if quiet:
        print(result.image_id)


def _columns(rows: list[list[str]]) -> None:
    """Docker-style columns: left-aligned, three spaces apart, no trailing blanks."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def history_cmd(image: str, no_trunc: bool, quiet: bool) -> None:
    from minidock.engine import build as eng

    rows = eng.image_history(image)

    def short(r: eng_types.HistoryRow) -> str:
        return r.image if no_trunc or r.image == "<missing>" else r.image.removeprefix("sha256:")[:12]

    def by(text: str) -> str:
        return text if no_trunc or len(text) <= _TRUNC else text[: _TRUNC - 1] + "…"
    if quiet:
        for r in rows:
            print(short(r))
        return
    _columns([["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
              *([short(r), ago(r.created), by(r.created_by), human_size(r.size), r.comment] for r in rows)])


def builder_prune_cmd(all_: bool) -> None:
    from minidock.engine import build as eng

    r = eng.prune_build_cache(all_)
    for sid in r.gc.snapshots:
        print(f"Deleted build cache layer: {sid[:12]}")
    print(f"Deleted {r.entries} build cache entries, {r.mounts} cache mounts")
    print(f"Total reclaimed space: {human_size(r.reclaimed)}")


def system_prune_cmd() -> None:
    from minidock.engine import build as eng

    r = eng.system_prune()
    for title, items in (("Deleted Containers:", r.containers), ("Deleted Images:", [str(d) for d in r.images])):
        if items:
            print(title, *items, sep="\n")
            print()
    print(f"Deleted {r.cache.entries} build cache entries, {len(r.cache.gc.snapshots)} layers")
    print(f"Total reclaimed space: {human_size(r.cache.reclaimed)}")


def _register_prune(app: typer_types.Typer) -> None:
    """`builder prune` and `system prune`."""
    import typer

    force = typer.Option(False, "-f", "--force", help="do not prompt (never prompts)")
    every = typer.Option(False, "-a", "--all", help="all cache entries and cache mounts")

    def builder_prune(f: bool = force, all_: bool = every) -> None:
        """Remove build cache entries (and their layers) no image uses."""
        builder_prune_cmd(all_)

    def system_prune(f: bool = force) -> None:
        """Remove stopped containers, dangling images and unused build cache."""
        system_prune_cmd()
    sub_app(app, "builder", "Manage builds").command("prune")(builder_prune)
    sub_app(app, "system", "Manage minidock").command("prune")(system_prune)


def register(app: typer_types.Typer) -> None:
    """Add `build`, `history`, `commit`, `builder prune` and `system prune` to the typer app."""
    _register_build(app)
    _register_image_commands(app)
    _register_prune(app)


def _register_build(app: typer_types.Typer) -> None:
    import typer

    tags = typer.Option([], "-t", "--tag", help="name:tag (repeatable)")
    args = typer.Option([], "--build-arg", help="KEY=VALUE (repeatable)")
    labels = typer.Option([], "--label", help="KEY=VALUE (repeatable)")
    secrets = typer.Option([], "--secret", help="id=ID,src=FILE or id=ID,env=VAR (repeatable): "
                           "RUN --mount=type=secret,id=ID shows it at /run/secrets/ID")

    @app.command("build")
    def build(context: str = typer.Argument(..., help="the build context directory"), *,
              tag: list[str] = tags,
              file: str = typer.Option("", "-f", "--file", help="the Dockerfile ('-' reads stdin)"),
              build_arg: list[str] = args, label: list[str] = labels,
              target: str = typer.Option("", "--target", help="the stage to build"),
              no_cache: bool = typer.Option(False, "--no-cache", help="do not use the build cache"),
              quiet: bool = typer.Option(False, "-q", "--quiet", help="print only the image id"),
              platform: str = typer.Option("", "--platform", help="os/arch (only the host's can RUN)"),
              secret: list[str] = secrets,
              verify: bool = typer.Option(False, "--verify-reproducible", help="build twice and compare")) -> None:
        """Build an image from a Dockerfile.

        RUN --network=default means none: builds have no bridge (use --network=host for the host's)."""
        from minidock.engine import build as eng

        text = sys.stdin.read() if file == "-" else None
        req = eng.BuildRequest(context=context, file="" if file == "-" else file, dockerfile_text=text,
                               tags=tuple(tag), build_args=tuple(build_arg), labels=tuple(label), target=target,
                               no_cache=no_cache, platform=platform, verify_reproducible=verify,
                               secrets=tuple(secret))
        build_cmd(req, quiet)


def _register_image_commands(app: typer_types.Typer) -> None:
    """`history` and `commit`."""
    import typer

    @app.command("history")
    def history(image: str = typer.Argument(..., help="IMAGE (name or id prefix)"),
                no_trunc: bool = typer.Option(False, "--no-trunc", help="do not truncate output"),
                quiet: bool = typer.Option(False, "-q", "--quiet", help="only show image IDs")) -> None:
        """Show the history of an image."""
        history_cmd(image, no_trunc, quiet)

    @app.command("commit")
    def commit(container: str = typer.Argument(..., help="CONTAINER (name or id)"),
               repository: str = typer.Argument("", help="REPOSITORY[:TAG]"),
               message: str = typer.Option("", "-m", "--message", help="commit message"),
               author: str = typer.Option("", "-a", "--author", help="author")) -> None:
        """Create a new image from a container's changes."""
        from minidock.engine import build as eng

        print(eng.commit_container(container, repository, comment=message, author=author))
