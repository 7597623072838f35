"""`minidock volume create|ls|inspect|rm|prune`: parse, one engine call, render (Docker's output)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from minidock.cli.lazy import lazy
from minidock.errors import UsageError

if TYPE_CHECKING:
    import typer as typer_types

    from minidock.engine import volumes
else:
    volumes = lazy("minidock.engine.volumes")


def pairs(items: list[str], what: str) -> dict[str, str]:
    """`K=V` options (a bare K means an empty value, as Docker's labels)."""
    out = {}
    for item in items:
        k, _, v = item.partition("=")
        if not k:
            raise UsageError(f"invalid {what} {item!r}: want KEY=VALUE")
        out[k] = v
    return out


VOLUME_HEADERS = {"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
                  "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE"}
VOLUME_DEFAULT = "table {{.Driver}}\t{{.Name}}"


def _render(objs: list[dict[str, Any]], fmt: str) -> None:
    """`volume inspect [-f T]`: Docker's JSON, or the template per volume (cli/formatting.py)."""
    from minidock.cli.formatting import json_indent, render_objects, to_struct

    if not fmt:
        print(json_indent(objs))
        return
    print(render_objects("{{json .}}" if fmt == "json" else fmt, [to_struct(o) for o in objs]), end="")


def _ls_rows(objs: list[dict[str, Any]], fmt: str) -> str:
    """`volume ls [--format T]`: docker/cli's volumeContext fields."""
    from minidock.cli.formatting import label_header, label_method, render_rows, row

    rows = [row("*formatter.volumeContext", {
        "Driver": o.get("Driver", "local"), "Labels": ",".join(f"{k}={v}" for k, v in sorted((o.get("Labels") or
                                                                                           {}).items())),
        "Links": "N/A", "Mountpoint": o.get("Mountpoint", ""), "Name": o.get("Name", ""), "Scope": "local",
        "Size": "N/A", "Label": label_method(o.get("Labels") or {})}) for o in objs]
    return render_rows(fmt, rows, {**VOLUME_HEADERS, "Label": label_header}, VOLUME_DEFAULT)


def _fail(errors: list[str]) -> None:
    import typer

    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        raise typer.Exit(1)


def register(app: typer_types.Typer) -> None:
    """Add the `volume` command group."""
    import typer

    vol = typer.Typer(no_args_is_help=True, help="Manage volumes")
    app.add_typer(vol, name="volume")
    fmt_opt = typer.Option("", "-f", "--format", help="Go template, or 'json'")
    filter_opt = typer.Option([], "-f", "--filter", help="dangling=true|false, label=K[=V], name=, driver=")

    @vol.command("create")
    def create(name: str = typer.Argument(""), driver: str = typer.Option("local", "-d", "--driver"),
               label: list[str] = typer.Option([], "--label", help="set metadata K=V"),  # noqa: B008
               opt: list[str] = typer.Option([], "-o", "--opt", help="driver options K=V")) -> None:  # noqa: B008
        """Create a volume (a random name when none is given)."""
        print(volumes.create(name, pairs(label, "label"), pairs(opt, "option"), driver)["Name"])

    @vol.command("ls")
    def ls(quiet: bool = typer.Option(False, "-q", "--quiet", help="only names"),
           filt: list[str] = filter_opt,
           fmt: str = typer.Option("", "--format", help="Go template, or 'json'")) -> None:
        """List volumes."""
        from minidock.engine.filterargs import grouped

        objs = volumes.list_volumes(grouped(filt, "volume ls", ("dangling", "label", "name", "driver")))
        if quiet:
            print("\n".join(o["Name"] for o in objs)) if objs else None
        else:
            print(_ls_rows(objs, fmt), end="")

    @vol.command("inspect")
    def inspect(names: list[str] = typer.Argument(...), fmt: str = fmt_opt) -> None:  # noqa: B008
        """Show volumes as JSON."""
        found, missing = volumes.inspect(names)
        _render(found, fmt)
        _fail(missing)

    @vol.command("rm")
    def rm(names: list[str] = typer.Argument(...),  # noqa: B008
           force: bool = typer.Option(False, "-f", "--force", help="ignore missing volumes")) -> None:
        """Remove volumes (refused while a container uses them)."""
        done, errors = volumes.remove(names, force)
        for n in done:
            print(n)
        _fail(errors)

    vol.command("remove", hidden=True)(rm)  # Docker's aliases
    vol.command("list", hidden=True)(ls)

    @vol.command("prune")
    def prune(force: bool = typer.Option(False, "-f", "--force", help="do not prompt for confirmation"),
              filt: list[str] = typer.Option([], "--filter", help="label=K[=V]")) -> None:  # noqa: B008
        """Remove all unused local volumes."""
        from minidock.engine.filterargs import grouped

        chosen = grouped(filt, "volume prune", ("label", "label!"), "--filter")  # before the question
        if not force and not _confirm("WARNING! This will remove all local volumes not used by at least "
                                      "one container.\nAre you sure you want to continue? [y/N] "):
            return
        gone, freed = volumes.prune(chosen)
        if gone:
            print("Deleted Volumes:\n" + "\n".join(gone) + "\n")
        from minidock.cli.containers import _size

        print(f"Total reclaimed space: {_size(freed)}")


def _confirm(prompt: str) -> bool:
    print(prompt, end="", flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")
