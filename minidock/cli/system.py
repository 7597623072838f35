"""`minidock version` and `minidock info`: Docker's layout, or one JSON object with `--format json`."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # why: no typing at run time (`version` takes the quick path: cli/quick.py)
    import typer as typer_types

    from minidock.engine import system
    from minidock.engine.version import VersionReport


def render(fmt: str, data: dict[str, object], go_type: str, name: str = "") -> str:
    """`--format`: a Go template over the JSON shape (`json` is `{{json .}}`); `go_type` names the
    root in errors as Docker's does (system.versionInfo, system.info)."""
    from minidock.cli.formatting import render_object, to_struct

    root = to_struct(data)
    root.type_name = go_type
    return render_object("{{json .}}" if fmt == "json" else fmt, root, name=name)


def version_lines(v: VersionReport) -> list[str]:
    """`docker version`'s client block."""
    rows = [("Version", v.version), ("Python version", v.python), ("OS/Arch", f"{v.os}/{v.arch}"),
            ("Kernel Version", v.kernel), ("Cgroup Version", v.cgroup.text())]
    return ["Client: minidock", *(f" {k + ':':<19}{val}" for k, val in rows)]


def _security_lines(opt: str) -> list[str]:
    """docker info's rendering of one SecurityOptions entry: `seccomp` then ` Profile: default`."""
    fields = dict(kv.split("=", 1) for kv in opt.split(","))
    return [fields.pop("name", ""), *(f" {k.capitalize()}: {v}" for k, v in fields.items())]


def info_lines(r: system.SystemReport) -> list[str]:
    """`docker info`'s server block."""
    from minidock.cli.containers import _size

    c = r.counts
    lines = ["Server:", f" Containers: {c.containers}", f"  Running: {c.running}", f"  Paused: {c.paused}",
             f"  Stopped: {c.stopped}", f" Images: {c.images}", f" Storage Driver: {r.storage_driver}",
             f"  Backing Filesystem: {r.backing_fs}", f" Cgroup Driver: {r.cgroup_driver}",
             f" Cgroup Version: {r.cgroup.text()}", " Security Options:",
             *(f"  {line}" for opt in r.security_options for line in _security_lines(opt)),
             f" Kernel Version: {r.kernel}",
             f" Operating System: {r.operating_system}", " OSType: linux", f" Architecture: {r.arch}",
             f" CPUs: {r.cpus}", f" Total Memory: {_size(r.mem_total)}", f" minidock Root Dir: {r.root_dir}"]
    for title, values in (("Registry Mirrors", r.mirrors), ("Insecure Registries", r.insecure)):
        if values:
            lines += [f" {title}:", *(f"  {x}" for x in values)]
    return lines


def register(app: typer_types.Typer) -> None:
    """Add `version` and `info` at top level."""
    import typer

    fmt_opt = typer.Option("", "-f", "--format", help="a Go template ('json' is {{json .}})")

    @app.command("version")
    def version(fmt: str = fmt_opt) -> None:
        """Show the minidock version, Python, kernel and cgroup version (no daemon involved)."""
        from minidock.engine.version import version_report

        v = version_report()
        text = render(fmt, v.to_json(), "system.versionInfo", "version") if fmt else "\n".join(version_lines(v)) + "\n"
        print(text, end="")

    @app.command("info")
    def info(fmt: str = fmt_opt) -> None:
        """Display system-wide information: containers, images, storage, cgroups, host, registries."""
        from minidock.engine.system import system_report

        r = system_report()
        print(render(fmt, r.to_json(), "system.info") if fmt else "\n".join(info_lines(r)) + "\n", end="")
