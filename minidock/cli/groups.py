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


# Docker's management commands: each top-level verb also lives under its noun (`container run`,
# `image pull`, ...), with Docker's extra names (`container list`, `image list`).
GROUP_VERBS = {
    "container": ("run", "create", "port", "commit", "export", ("ps", "list")),
    "image": ("pull", "build", "history", "save", "push", "load", "import", ("images", "list")),
    "system": ("info", "events"),
    "builder": ("build",),
}


def mirror(app: Any) -> None:
    """Register the top-level verbs of GROUP_VERBS under their group too (same callback and settings)."""
    import copy

    top = {info.name: info for info in app.registered_commands}
    for group_name, verbs in GROUP_VERBS.items():
        group = sub_app(app, group_name, "")
        have = {info.name for info in group.registered_commands}
        for verb in verbs:
            source, name = verb if isinstance(verb, tuple) else (verb, verb)
            if source in top and name not in have:
                info = copy.copy(top[source])
                info.name = name
                group.registered_commands.append(info)
