"""Command groups shared by noun modules: `image`, `container`, `system` may be filled by several modules."""

from __future__ import annotations

from typing import Any


def sub_app(app: Any, name: str, text: str) -> Any:
    """The sub-app `name` (another module may have added it already: share it)."""
    import typer

    for g in app.registered_groups:
        if g.name == name:
            return g.typer_instance
    sub = typer.Typer(no_args_is_help=True, help=text)
    app.add_typer(sub, name=name)
    return sub
