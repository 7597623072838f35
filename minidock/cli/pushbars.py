"""`minidock push` on a terminal: one rich bar per blob, labelled with its state (like pull's bars)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from minidock.cli.lazy import lazy
from minidock.cli.share import PushLines

if TYPE_CHECKING:
    from minidock.engine import share
else:
    share = lazy("minidock.engine.share")


class PushBars(PushLines):
    """Preparing -> Pushing (bytes sent) -> Pushed / Layer already exists / Mounted from X."""

    def __init__(self, out: TextIO) -> None:
        super().__init__(out)
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                 TransferSpeedColumn(), console=Console(file=out), transient=False)
        self.tasks: dict[str, Any] = {}
        self.progress.start()

    def event(self, e: share.PushEvent) -> None:
        p = self.progress
        if isinstance(e, share.PushStarted):
            self.ids = self.layer_labels(e)
            for digest, size in e.blobs:
                if digest in self.ids:
                    self.tasks[self.ids[digest]] = p.add_task(f"{self.ids[digest]}: Preparing", total=size)
            return
        label = self.ids.get(e.digest) if not isinstance(e, share.PushDone) else None
        task = self.tasks.get(label) if label is not None else None
        if task is None:
            return
        if isinstance(e, share.BlobProgress):
            p.update(task, completed=e.done, description=f"{label}: Pushing")
        else:
            p.update(task, completed=p.tasks[task].total, description=self.line(e))

    def close(self) -> None:
        self.progress.stop()
