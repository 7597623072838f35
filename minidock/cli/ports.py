"""`minidock port CONTAINER [PRIVATE_PORT[/PROTO]]`: parse, one engine call, render (Docker's lines)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from minidock.errors import NotFoundError

if TYPE_CHECKING:
    import typer as typer_types

    from minidock.engine.netwire import PortMapping


def port_lines(mappings: list[PortMapping], name: str, private: str = "") -> list[str]:
    """`80/tcp -> 0.0.0.0:32768` per mapping, or only `0.0.0.0:32768` for the asked `private` port."""
    if not private:
        return [f"{m.container_port}/{m.proto} -> {m.bind_ip}:{m.host_port}" for m in mappings]
    port, _, proto = private.partition("/")
    want = [m for m in mappings if str(m.container_port) == port and m.proto == (proto or "tcp")]
    if not want:
        raise NotFoundError(f"no public port '{port}/{proto or 'tcp'}' published for {name}")
    return [f"{m.bind_ip}:{m.host_port}" for m in want]


def register(app: typer_types.Typer) -> None:
    """Add `port` to the typer app."""
    import typer

    @app.command("port")
    def port(container: str = typer.Argument(..., help="CONTAINER (name, id or id prefix)"),
             private: str = typer.Argument("", help="PRIVATE_PORT[/PROTO]")) -> None:
        """List port mappings or a specific mapping for the container."""
        from minidock.engine import netwire

        name, mappings = netwire.published(container)
        lines = port_lines(mappings, name, private)
        if lines:
            print("\n".join(lines))
