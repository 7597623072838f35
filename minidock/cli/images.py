"""Image commands that need only the store: images, inspect, tag, rmi, image prune, system df/check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from minidock.cli.groups import sub_app
from minidock.cli.lazy import lazy
from minidock.engine.humanize import human_size

if TYPE_CHECKING:
    from minidock.engine import images as eng
else:
    eng = lazy("minidock.engine.images")


def _store() -> Any:
    from minidock.engine.lookup import open_store

    return open_store()


def images_cmd(quiet: bool = False, fmt: str = "", no_trunc: bool = False, digests: bool = False, *,
               repository: str = "", filters: list[str] | None = None) -> None:
    """List images like `docker images` (cli/listing.py)."""
    from minidock.cli.listing import images

    images(quiet, fmt, no_trunc, digests, repository=repository, filters=filters)


def inspect_cmd(names: list[str], fmt: str = "") -> None:
    import typer

    from minidock.cli.listing import inspect as inspect_objects

    raise typer.Exit(inspect_objects(names, "image", fmt))


def rmi_cmd(names: list[str], force: bool = False) -> None:
    for line in eng.remove_images(_store(), names, force=force):
        print(line)


PRUNE_ALL = "WARNING! This will remove all images without at least one container associated to them."
PRUNE_DANGLING = "WARNING! This will remove all dangling images."


def prune_cmd(all_: bool = False, force: bool = False, filters: list[str] | None = None) -> None:
    """`image prune [-a] [-f] [--filter K=V]`, Docker's prompt and output."""
    from minidock.cli.prompt import confirm
    from minidock.engine.filters import PruneFilter

    chosen = PruneFilter.parse(filters or (), images=True, command="image prune")  # fails before the question
    all_ = all_ or chosen.dangling is False
    reclaimed = 0
    if force or confirm(f"{PRUNE_ALL if all_ else PRUNE_DANGLING}\nAre you sure you want to continue?"):
        res = eng.prune_unused(_store(), all_, chosen)
        if res.lines:
            print("Deleted Images:", *res.lines, "", sep="\n")
        reclaimed = res.gc.reclaimed
    print(f"Total reclaimed space: {human_size(reclaimed, 4)}")


DF_HEADERS = {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE",
              "Reclaimable": "RECLAIMABLE"}
DF_DEFAULT = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"


DF_RAW = ("type: {{.Type}}\ntotal: {{.TotalCount}}\nactive: {{.Active}}\nsize: {{.Size}}\n"
          "reclaimable: {{.Reclaimable}}\n")  # docker/cli's raw format


def df_cmd(fmt: str = "", verbose: bool = False) -> None:
    """Show disk usage (`system df [-v] [--format]`): Docker's four rows, or every object (cli/df.py)."""
    from minidock.cli.formatting import render_rows, row
    from minidock.engine import diskusage

    du = diskusage.usage(_store())
    if verbose:
        from minidock.cli.df import render

        print(render(fmt, du), end="")
        return

    def size(n: int) -> str:  # go-units HumanSize: four significant digits (ps and images show three)
        return human_size(n, 4)

    def pct(r: Any) -> str:  # the build cache's row has no percentage in Docker's table
        if r.size and r.type != "Build Cache":
            return f"{size(r.reclaimable)} ({r.reclaimable * 100 // r.size}%)"
        return size(r.reclaimable)
    rows = [row("*formatter.diskUsageImagesContext", {
        "Active": str(r.active), "Reclaimable": pct(r), "Size": size(r.size), "TotalCount": str(r.total),
        "Type": r.type}) for r in diskusage.summary(du)]
    print(render_rows(DF_RAW if fmt == "raw" else fmt, rows, DF_HEADERS, DF_DEFAULT), end="")


def problem_line(p: Any) -> str:
    """One finding of `system check`, with the bytes a leftover takes."""
    size = f" [{human_size(p.size)}]" if p.size else ""
    return f"{p.message}{size}{' (repairable)' if p.repairable else ''}"


def check_cmd(repair: bool = False) -> None:
    import typer

    report = eng.check_store(_store(), repair=repair)
    for p in report.repaired:
        print(f"repaired: {problem_line(p._replace(repairable=False))}")
    for p in report.problems:
        print(problem_line(p))
    left = [p for p in report.problems if "leftover" in p.kind]
    if left:
        print(f"reclaimable: {human_size(sum(p.size for p in left))} in {len(left)} leftovers "
              "(system check --repair, image prune or builder prune reclaims them)")
    if report.problems:
        raise typer.Exit(1)
    if not report.repaired:
        print("store is consistent")


def register(app: Any) -> None:
    """Add images, inspect, tag, rmi, `image ...` and `system df|check` to the typer app."""
    import typer

    image = sub_app(app, "image", "Manage images")
    system = sub_app(app, "system", "Manage minidock")
    quiet = typer.Option(False, "-q", "--quiet", help="only show image IDs")
    fmt = typer.Option("", "--format", help="Go template, 'table TEMPLATE' or 'json'")
    force = typer.Option(False, "-f", "--force", help="remove even when used or multiply named")
    names = typer.Argument(..., help="IMAGE (name or id prefix)")

    def images(repository: str = typer.Argument("", metavar="[REPOSITORY[:TAG]]"), *, q: bool = quiet, f: str = fmt,
               no_trunc: bool = typer.Option(False, "--no-trunc", help="full image IDs"),
               digests: bool = typer.Option(False, "--digests", help="show digests"),
               a: bool = typer.Option(False, "-a", "--all", help="(every image is shown)"),
               filters: list[str] = typer.Option([], "--filter", "-f",  # noqa: B008
                                                 help="dangling=true|false, label=K[=V], reference=PATTERN, "
                                                      "before=IMAGE, since=IMAGE")) -> None:
        """List images."""
        images_cmd(q, f, no_trunc, digests, repository=repository, filters=filters)

    def inspect(image_names: list[str] = names,
                f: str = typer.Option("", "-f", "--format", help="Go template (per image)")) -> None:
        """Show low-level information on images (Docker's JSON)."""
        inspect_cmd(image_names, f)

    def tag(source: str = typer.Argument(...), target: str = typer.Argument(...)) -> None:
        """Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE."""
        eng.tag_image(_store(), source, target)

    def rmi(image_names: list[str] = names, f: bool = force,
            no_prune: bool = typer.Option(False, "--no-prune", help="do not delete untagged parents")) -> None:
        """Remove one or more images (minidock's images have no parent images: --no-prune changes nothing)."""
        rmi_cmd(image_names, f)

    prune_filters = typer.Option([], "--filter", help="until=TIME, label=K[=V], label!=K[=V]")

    def prune(a: bool = typer.Option(False, "-a", "--all", help="remove all unused images, not just dangling ones"),
              f: bool = typer.Option(False, "-f", "--force", help="do not prompt for confirmation"),
              filters: list[str] = prune_filters) -> None:
        """Remove unused images (and the content nothing needs any more)."""
        prune_cmd(a, f, filters)

    def df(fmt: str = typer.Option("", "--format", help="Go template, 'table TEMPLATE' or 'json'"),
           verbose: bool = typer.Option(False, "-v", "--verbose", help="show every image, container, volume "
                                                                       "and build cache entry")) -> None:
        """Show disk usage."""
        df_cmd(fmt, verbose)

    def check(repair: bool = typer.Option(False, "--repair", help="fix what can be fixed")) -> None:
        """Verify every blob, image record and snapshot of the store; exit 1 on problems."""
        check_cmd(repair)

    for target, cmds in ((app, {"images": images, "inspect": inspect, "tag": tag, "rmi": rmi}),
                         (image, {"ls": images, "inspect": inspect, "tag": tag, "rm": rmi, "prune": prune}),
                         (system, {"df": df, "check": check})):
        for name, fn in cmds.items():
            target.command(name)(fn)
    for alias in ("remove", "rmi"):  # Docker's aliases of `image rm`
        image.command(alias, hidden=True)(rmi)
