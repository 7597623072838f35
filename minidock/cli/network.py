"""`minidock network create|ls|inspect|rm`: parse, one engine call, render (Docker's shapes)."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # why: no typing import at run time (`network ls` is on the quick path)
    from typing import Any

    import typer as typer_types

NET_HEADERS = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv6": "IPV6",
               "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT"}
NET_DEFAULT = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"


def docker_json(n: Any) -> dict[str, Any]:
    """`docker network inspect`'s object for a NetworkConfig (with the containers attached to it)."""
    from minidock.engine import glance

    members = {}
    for d in glance.records():
        att = d.get("network") or {}
        if (d.get("host_config") or {}).get("NetworkMode") == n.name and att.get("ip") and \
                d.get("status") in glance.ACTIVE:
            members[d["id"]] = {"Name": d.get("name", ""), "EndpointID": "", "MacAddress": att.get("mac", ""),
                                "IPv4Address": f"{att['ip']}/{att.get('prefixlen', 16)}", "IPv6Address": ""}
    config = [{"Subnet": n.subnet, "Gateway": n.gateway}] if n.subnet else []
    options = {"com.docker.network.bridge.name": n.bridge} if n.bridge else {}
    return {"Name": n.name, "Id": n.id, "Created": n.created, "Scope": "local", "Driver": n.driver,
            "EnableIPv6": False, "IPAM": {"Driver": "default", "Options": None, "Config": config},
            "Internal": False, "Attachable": False, "Ingress": False, "ConfigFrom": {"Network": ""},
            "ConfigOnly": False, "Containers": members, "Options": options, "Labels": {}}


def net_row(n: Any, no_trunc: bool = False) -> Any:
    from minidock.cli.formatting import label_method, row
    from minidock.engine.glance import docker_time

    return row("*formatter.networkContext", {
        "CreatedAt": docker_time(n.created), "Driver": n.driver, "ID": n.id if no_trunc else n.id[:12],
        "IPv6": "false", "Internal": "false", "Labels": "", "Name": n.name, "Scope": "local",
        "Label": label_method({})})


def ls_cmd(quiet: bool = False, fmt: str = "", no_trunc: bool = False) -> None:
    """`network ls` like Docker's (-q, --no-trunc, --format)."""
    from minidock.cli.formatting import render_rows
    from minidock.engine import glance

    nets: list[Any] | None = glance.networks()
    if nets is None:  # the default bridge is not recorded yet: the engine records it
        from minidock.engine import networks

        nets = networks.list_networks()
    if quiet:
        sys.stdout.write("".join((n.id if no_trunc else n.id[:12]) + "\n" for n in nets))
        return
    sys.stdout.write(render_rows(fmt, [net_row(n, no_trunc) for n in nets], NET_HEADERS, NET_DEFAULT))


def inspect_cmd(refs: list[str], fmt: str = "") -> int:
    """`network inspect [-f FORMAT] NET...`: what exists, then `Error: No such network: X` (exit 1)."""
    from minidock.cli.formatting import json_indent, render_objects, to_struct
    from minidock.engine import networks
    from minidock.errors import NotFoundError

    found, missing = [], []
    for r in refs:
        try:
            found.append(docker_json(networks.inspect(r)))
        except NotFoundError:
            missing.append(r)
    if fmt:
        sys.stdout.write(render_objects(fmt, [to_struct(o) for o in found]))
    else:
        print(json_indent(found))
    for r in missing:
        print(f"Error: No such network: {r}", file=sys.stderr)
    return 1 if missing else 0


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
        from minidock.engine import networks

        print(networks.create(name, subnet or None).id)

    @net.command("ls")
    def ls(quiet: bool = typer.Option(False, "-q", "--quiet", help="only ids"),
           fmt: str = typer.Option("", "--format", help="Go template, 'table TEMPLATE' or 'json'"),
           no_trunc: bool = typer.Option(False, "--no-trunc", help="full ids")) -> None:
        """List networks."""
        ls_cmd(quiet, fmt, no_trunc)

    net.command("list", hidden=True)(ls)  # Docker's alias

    @net.command("inspect")
    def inspect(refs: list[str] = typer.Argument(...),  # noqa: B008
                fmt: str = typer.Option("", "-f", "--format", help="Go template (per network)")) -> None:
        """Show networks as Docker's JSON."""
        raise typer.Exit(inspect_cmd(refs, fmt))

    @net.command("rm")
    def rm(refs: list[str] = typer.Argument(...)) -> None:  # noqa: B008
        """Remove networks (refused while containers use them)."""
        from minidock.engine import networks

        for r in refs:
            print(networks.remove(r).name)

    @net.command("connect")
    def connect(network: str = typer.Argument(..., help="NETWORK"),
                container: str = typer.Argument(..., help="CONTAINER")) -> None:
        """Connect a container to a network (another interface: eth1, eth2, ...)."""
        from minidock.engine import netconnect

        netconnect.connect(network, container)

    @net.command("disconnect")
    def disconnect(network: str = typer.Argument(..., help="NETWORK"),
                   container: str = typer.Argument(..., help="CONTAINER"),
                   force: bool = typer.Option(False, "-f", "--force", help="(accepted, as Docker's)")) -> None:
        """Disconnect a container from a network it was connected to."""
        from minidock.engine import netconnect

        netconnect.disconnect(network, container)
