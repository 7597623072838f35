"""`minidock network` (create, ls, inspect, prune, rm, connect, disconnect): parse, one engine call,
render (Docker's shapes)."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # why: no typing import at run time (`network ls` is on the quick path)
    from typing import Any

    import typer as typer_types

NET_HEADERS = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv6": "IPV6",
               "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT"}
NET_DEFAULT = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"


def _members(name: str) -> dict[str, Any]:
    """`Containers` of network `name`: the running containers on it (first network or connected)."""
    from minidock.engine import glance

    members = {}
    for d in glance.records():
        att = d.get("network") or {}
        first = (d.get("host_config") or {}).get("NetworkMode") == name
        for a in [att] if first else [x for x in att.get("extra") or () if x.get("network") == name]:
            if a.get("ip") and d.get("status") in glance.ACTIVE:
                members[d["id"]] = {"Name": d.get("name", ""), "EndpointID": "", "MacAddress": a.get("mac", ""),
                                    "IPv4Address": f"{a['ip']}/{a.get('prefixlen', 16)}", "IPv6Address": ""}
    return members


def docker_json(n: Any) -> dict[str, Any]:
    """`docker network inspect`'s object for a NetworkConfig (with the containers attached to it)."""
    entry = n.ipam or {"Subnet": n.subnet, "Gateway": n.gateway}
    keys = ("Subnet", "IPRange", "Gateway", "AuxiliaryAddresses")  # Docker's order (the store sorts keys)
    config = [{k: entry[k] for k in keys if k in entry}] if n.subnet else []
    options = dict(n.options)
    if n.name == "bridge" and n.bridge:
        options = {"com.docker.network.bridge.name": n.bridge}
    return {"Name": n.name, "Id": n.id, "Created": n.created, "Scope": "local", "Driver": n.driver,
            "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": {} if n.driver == "bridge" else None, "Config": config},
            "Internal": n.internal, "Attachable": n.attachable, "Ingress": False, "ConfigFrom": {"Network": ""},
            "ConfigOnly": False, "Containers": _members(n.name), "Options": options, "Labels": dict(n.labels)}


def go_time(created: str) -> str:
    """Go's time.String() of an RFC 3339 UTC time (what docker/cli's network CreatedAt shows):
    `2024-01-02 03:04:05.5 +0000 UTC`, nanoseconds without trailing zeros."""
    if len(created) < 20 or created[10] != "T" or not created.endswith("Z"):
        return ""
    whole, _, frac = created[:-1].partition(".")
    frac = frac.rstrip("0")
    return f"{whole[:10]} {whole[11:19]}{'.' + frac if frac else ''} +0000 UTC"


def net_row(n: Any, no_trunc: bool = False) -> Any:
    from minidock.cli.formatting import label_method, row

    labels = n.labels or {}
    return row("*formatter.networkContext", {
        "CreatedAt": go_time(n.created), "Driver": n.driver, "ID": n.id if no_trunc else n.id[:12],
        "IPv6": "false", "Internal": "true" if n.internal else "false",
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())), "Name": n.name, "Scope": "local",
        "Label": label_method(labels)})


def ls_cmd(quiet: bool = False, fmt: str = "", no_trunc: bool = False, filters: list[str] | None = None) -> None:
    """`network ls` like Docker's (-q, --no-trunc, --format, --filter; sorted by name, as docker/cli)."""
    from minidock.cli.formatting import render_rows
    from minidock.engine import glance
    from minidock.engine.netfilter import NetworkFilter, natural_key

    chosen = NetworkFilter.parse(filters or ())  # a bad filter fails before anything is read
    nets: list[Any] | None = glance.networks()
    if nets is None:  # the default bridge is not recorded yet: the engine records it
        from minidock.engine import networks

        nets = networks.list_networks()
    nets = sorted((n for n in nets if chosen.matches(n)), key=lambda n: natural_key(n.name))
    if quiet:
        sys.stdout.write("".join((n.id if no_trunc else n.id[:12]) + "\n" for n in nets))
        return
    sys.stdout.write(render_rows(fmt, [net_row(n, no_trunc) for n in nets], NET_HEADERS, NET_DEFAULT))


PRUNE_WARNING = ("WARNING! This will remove all custom networks not used by at least one container.\n"
                 "Are you sure you want to continue?")


def prune_cmd(force: bool, filters: list[str]) -> None:
    """`network prune [-f] [--filter ...]`: Docker's question, then `Deleted Networks:` and the names."""
    from minidock.cli.prompt import confirm
    from minidock.engine import networks
    from minidock.engine.filters import PruneFilter

    chosen = PruneFilter.parse(filters, command="network prune")  # a bad filter fails before the question
    if not force and not confirm(PRUNE_WARNING):
        return
    gone = networks.prune(chosen)
    if gone:
        print("Deleted Networks:", *gone, "", sep="\n")


def create_cmd(name: str, flags: dict[str, Any]) -> None:
    """`network create`: the flags as a NetworkSpec, one engine call, the new id."""
    from minidock.cli.volumes import pairs
    from minidock.engine import networks
    from minidock.engine.networks import NetworkSpec, single

    subnet, gateway, ip_range = single(flags["subnet"], flags["gateway"], flags["ip_range"])
    spec = NetworkSpec(subnet, gateway, ip_range, _kv(flags["aux"]), pairs(flags["label"], "label"),
                       _kv(flags["opt"]), flags["internal"], flags["attachable"], flags["driver"],
                       flags["ipam_driver"], flags["ipv6"])
    print(networks.create(name, spec).id)


def _kv(items: list[str]) -> dict[str, str]:
    """K=V flags (a bare K: an empty value, as Docker's map flags)."""
    return dict((k, v) for k, _, v in (i.partition("=") for i in items))


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


def rm_cmd(refs: list[str]) -> int:
    """`network rm`: as Docker, every name is tried and each failure said; 1 when any failed."""
    from minidock.engine import networks
    from minidock.errors import MinidockError

    failed = False
    for r in refs:
        try:
            print(networks.remove(r).name, flush=True)
        except MinidockError as e:
            print(f"minidock: {e}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


def _register_wiring(net: typer_types.Typer) -> None:
    """`network connect` and `network disconnect`."""
    import typer

    @net.command("connect")
    def connect(network: str = typer.Argument(..., help="NETWORK"),
                container: str = typer.Argument(..., help="CONTAINER"),
                alias: list[str] = typer.Option([], "--alias", help="network-scoped alias"),  # noqa: B008
                ip: str = typer.Option("", "--ip", help="IPv4 address (a network with a subnet of its own)"),
                ) -> None:
        """Connect a container to a network (another interface: eth1, eth2, ...)."""
        from minidock.engine import netconnect

        netconnect.connect(network, container, aliases=tuple(alias), ip=ip)

    @net.command("disconnect")
    def disconnect(network: str = typer.Argument(..., help="NETWORK"),
                   container: str = typer.Argument(..., help="CONTAINER"),
                   force: bool = typer.Option(False, "-f", "--force", help="(accepted, as Docker's)")) -> None:
        """Disconnect a container from a network it was connected to."""
        from minidock.engine import netconnect

        netconnect.disconnect(network, container)


def _register_create(net: typer_types.Typer) -> None:
    """`network create` and its Docker flags."""
    import typer

    many = typer.Option([], help="(repeatable)")

    @net.command("create")
    def create(name: str = typer.Argument(...), *,
               driver: str = typer.Option("bridge", "-d", "--driver", help="driver (bridge)"),
               subnet: list[str] = typer.Option([], "--subnet", help="CIDR (default: a free /16)"),  # noqa: B008
               gateway: list[str] = typer.Option([], "--gateway", help="the bridge's address"),  # noqa: B008
               ip_range: list[str] = typer.Option([], "--ip-range", help="allocate from this CIDR"),  # noqa: B008
               aux: list[str] = typer.Option([], "--aux-address", help="NAME=IP never handed out"),  # noqa: B008
               label: list[str] = typer.Option([], "--label", help="K=V metadata"),  # noqa: B008
               opt: list[str] = typer.Option([], "-o", "--opt", help="driver option K=V"),  # noqa: B008
               internal: bool = typer.Option(False, "--internal", help="no access to outside networks"),
               attachable: bool = typer.Option(False, "--attachable", help="(recorded, as Docker's)"),
               ipam_driver: str = typer.Option("default", "--ipam-driver", help="IPAM driver (default)"),
               ipam_opt: list[str] = many, ipv6: bool = typer.Option(False, "--ipv6", help="(not supported)"),
               ) -> None:
        """Create a bridge network."""
        create_cmd(name, locals())


def register(app: typer_types.Typer) -> None:
    """Add the `network` command group to the typer app."""
    import typer

    net = typer.Typer(no_args_is_help=True, help="Manage networks")
    app.add_typer(net, name="network")

    _register_create(net)

    @net.command("ls")
    def ls(quiet: bool = typer.Option(False, "-q", "--quiet", help="only ids"),
           fmt: str = typer.Option("", "--format", help="Go template, 'table TEMPLATE' or 'json'"),
           no_trunc: bool = typer.Option(False, "--no-trunc", help="full ids"),
           filters: list[str] = typer.Option([], "-f", "--filter", help="driver=, id=, label=, name=, scope=, "  # noqa: B008
                                             "type=custom|builtin, dangling=true|false")) -> None:
        """List networks."""
        ls_cmd(quiet, fmt, no_trunc, filters)

    net.command("list", hidden=True)(ls)  # Docker's alias

    @net.command("inspect")
    def inspect(refs: list[str] = typer.Argument(...),  # noqa: B008
                fmt: str = typer.Option("", "-f", "--format", help="Go template (per network)")) -> None:
        """Show networks as Docker's JSON."""
        raise typer.Exit(inspect_cmd(refs, fmt))

    @net.command("prune")
    def prune(force: bool = typer.Option(False, "-f", "--force", help="do not prompt for confirmation"),
              filters: list[str] = typer.Option([], "--filter", help="until=, label=K[=V], label!=K[=V]")  # noqa: B008
              ) -> None:
        """Remove all unused networks (no running container on them)."""
        prune_cmd(force, filters)

    @net.command("rm")
    def rm(refs: list[str] = typer.Argument(...)) -> None:  # noqa: B008
        """Remove networks (refused while containers use them)."""
        raise typer.Exit(rm_cmd(refs))

    net.command("remove", hidden=True)(rm)  # Docker's alias
    _register_wiring(net)
