"""`minidock network create|ls|inspect|rm`: parse, one engine call, render."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from minidock.cli.lazy import lazy

if TYPE_CHECKING:
    from minidock.engine import networks
else:
    networks = lazy("minidock.engine.networks")

if TYPE_CHECKING:
    import typer as typer_types


def register(app: typer_types.Typer) -> None:
    """Add the `network` command group to the typer app."""
    import typer

    net = typer.Typer(no_args_is_help=True, help="Manage networks")
    app.add_typer(net, name="network")

    @net.command("create")
    def create(name: str = typer.Argument(...),
               subnet: str = typer.Option("", "--subnet", help="CIDR, e.g. 10.90.0.0/16 (default: a free /16)"),
               ) -> None:
        """Create a bridge network."""
        print(networks.create(name, subnet or None).id)

    @net.command("ls")
    def ls(quiet: bool = typer.Option(False, "-q", "--quiet", help="only ids"),
           fmt: str = typer.Option("", "--format", help="json")) -> None:
        """List networks."""
        nets = networks.list_networks()
        if fmt == "json":
            print(json.dumps([n.to_json() for n in nets], indent=2))
            return
        lines = [n.id[:12] for n in nets] if quiet else [f"{'NETWORK ID':<14}{'NAME':<20}{'DRIVER':<10}SUBNET"] + [
            f"{n.id[:12]:<14}{n.name:<20}{n.driver:<10}{n.subnet}" for n in nets]
        print("\n".join(lines))

    @net.command("inspect")
    def inspect(refs: list[str] = typer.Argument(...)) -> None:  # noqa: B008
        """Show networks as JSON."""
        print(json.dumps([networks.inspect(r).to_json() for r in refs], indent=2))

    @net.command("rm")
    def rm(refs: list[str] = typer.Argument(...)) -> None:  # noqa: B008
        """Remove networks (refused while containers use them)."""
        for r in refs:
            print(networks.remove(r).name)
