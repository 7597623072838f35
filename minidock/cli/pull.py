"""`minidock pull`: one bar per layer plus totals on a terminal, plain lines otherwise, nothing with -q."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, TextIO

from minidock.cli.lazy import lazy

if TYPE_CHECKING:
    from minidock.engine import pull as engine_pull
else:
    engine_pull = lazy("minidock.engine.pull")

if TYPE_CHECKING:
    import typer as typer_types


def register(app: typer_types.Typer) -> None:
    """Add the `pull` command to the typer app."""
    import typer

    @app.command("pull")
    def pull(name: str = typer.Argument(..., help="NAME, NAME:TAG or NAME@DIGEST"),
             platform: str = typer.Option("", "--platform", help="os/arch or os/arch/variant (default: this host)"),
             quiet: bool = typer.Option(False, "-q", "--quiet", help="print only the image name"),
             all_tags: bool = typer.Option(False, "-a", "--all-tags", help="download all tagged images"),
             _trust: bool = typer.Option(True, "--disable-content-trust", help="(accepted: no content trust here)"),
             ) -> None:
        """Download an image from a registry."""
        if all_tags:
            pull_all_and_render(name, platform, quiet)
        else:
            pull_and_render(name, platform, quiet)


def pull_and_render(name: str, platform: str = "", quiet: bool = False, out: TextIO | None = None) -> None:
    """Pull `name` showing Docker-like progress on `out` (stdout); also used by `run` for missing images."""
    out = out or sys.stdout
    renderer = _renderer(quiet, name, out)
    try:
        result = engine_pull.pull_image(name, platform or None, renderer.event)
    finally:
        renderer.close()
    if not quiet:
        status = "Downloaded newer image for" if result.downloaded else "Image is up to date for"
        print(f"Digest: {result.digest}", file=out)
        print(f"Status: {status} {result.familiar}", file=out)
    print(result.name, file=out)


def pull_all_and_render(name: str, platform: str = "", quiet: bool = False) -> None:
    """`pull -a`: each tag in the registry's order (its lines and digest), then one status for the repository."""
    out, downloaded = sys.stdout, False
    for tagged in engine_pull.repository_tags(name):
        renderer = _renderer(quiet, tagged, out)
        try:
            result = engine_pull.pull_image(tagged, platform or None, renderer.event)
        finally:
            renderer.close()
        downloaded = downloaded or result.downloaded
        if not quiet:
            print(f"Digest: {result.digest}", file=out)
    ref = engine_pull.parse_name(name)
    if not quiet:
        status = "Downloaded newer image for" if downloaded else "Image is up to date for"
        print(f"Status: {status} {ref.familiar_name()}", file=out)
    print(ref.name, file=out)


def _renderer(quiet: bool, name: str, out: TextIO) -> _Lines:
    ref = engine_pull.parse_name(name)  # a bad name fails here, before anything is printed
    if quiet:
        return _Quiet(out)
    if ref.digest is None and ":" not in name.rsplit("/", 1)[-1]:
        print(f"Using default tag: {ref.tag}", file=out)
    print(f"{ref.digest or ref.tag}: Pulling from {ref.repository}", file=out)
    return _Bars(out) if out.isatty() else _Lines(out)


class _Lines:
    """Plain lines per layer state change (not a terminal)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.existing: set[str] = set()

    def event(self, e: engine_pull.PullEvent) -> None:
        line = self._line(e)
        if line:
            print(line, file=self.out, flush=True)

    def _line(self, e: engine_pull.PullEvent) -> str:
        if isinstance(e, engine_pull.LayerSkipped):
            if e.reason == "already exists":
                self.existing.add(e.digest.short)
            return f"{e.digest.short}: {'Already exists' if e.reason == 'already exists' else 'Using cached blob'}"
        if isinstance(e, engine_pull.LayerStarted):
            resumed = f" (resuming at {e.offset} bytes)" if e.offset else ""
            return f"{e.digest.short}: Pulling fs layer{resumed}"
        if isinstance(e, engine_pull.LayerVerified):
            return f"{e.digest.short}: Verifying Checksum\n{e.digest.short}: Download complete"
        if isinstance(e, engine_pull.LayerDone) and e.digest.short not in self.existing:
            return f"{e.digest.short}: Pull complete"
        return ""

    def close(self) -> None:
        return None


class _Quiet(_Lines):
    def event(self, e: engine_pull.PullEvent) -> None:
        return None


class _Bars(_Lines):
    """rich progress: one bar per layer and a total."""

    def __init__(self, out: TextIO) -> None:
        super().__init__(out)
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                 TransferSpeedColumn(), console=Console(file=out), transient=False)
        self.tasks: dict[str, Any] = {}
        self.total: Any = None
        self.progress.start()

    def event(self, e: engine_pull.PullEvent) -> None:
        p = self.progress
        if isinstance(e, engine_pull.Resolved):
            self.total = p.add_task("total", total=sum(size for _, size in e.layers))
            for digest, size in e.layers:
                self.tasks[digest.short] = p.add_task(f"{digest.short}: waiting", total=size)
        elif isinstance(e, engine_pull.LayerProgress | engine_pull.LayerSkipped | engine_pull.LayerDone):
            self._update(e)

    def _update(self, e: Any) -> None:
        task = self.tasks.get(e.digest.short)
        if task is None:
            return
        p = self.progress
        if isinstance(e, engine_pull.LayerProgress):
            before = p.tasks[task].completed
            p.update(task, completed=e.done, description=f"{e.digest.short}: downloading")
            p.advance(self.total, e.done - before)
        else:
            label = "already exists" if isinstance(e, engine_pull.LayerSkipped) else "pull complete"
            rest = p.tasks[task].total - p.tasks[task].completed if p.tasks[task].total else 0
            p.update(task, completed=p.tasks[task].total, description=f"{e.digest.short}: {label}")
            p.advance(self.total, rest)

    def close(self) -> None:
        self.progress.stop()
