"""Builder fixtures: a store holding busybox (no registry), a context dir, a build helper, a runner."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from minidock.builder.builder import BuildOptions, BuildResult, build
from minidock.builder.events import BuildEvent, StepDone, StepOutput, StepStarted
from minidock.paths import Paths
from minidock.store.store import Store

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "Dockerfiles"


@dataclass
class Built:
    """A build's result with the events it reported."""

    result: BuildResult
    events: list[BuildEvent] = field(default_factory=list)

    @property
    def cached(self) -> list[bool]:
        return [e.cached for e in self.events if isinstance(e, StepDone)]

    @property
    def steps(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, StepStarted)]

    @property
    def output(self) -> str:
        return b"".join(e.data for e in self.events if isinstance(e, StepOutput)).decode()


class Builder:
    """Writes a context (Dockerfile + files) and builds it into one store."""

    def __init__(self, store: Store, ctx: Path) -> None:
        self.store, self.ctx = store, ctx
        ctx.mkdir(parents=True, exist_ok=True)

    def write(self, files: dict[str, str | bytes]) -> None:
        for rel, data in files.items():
            p = self.ctx / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                p.write_bytes(data)
            else:
                p.write_text(data)

    def __call__(self, dockerfile: str | None = None, files: dict[str, str | bytes] | None = None,
                 **opts: Any) -> Built:
        if dockerfile is not None:
            self.write({"Dockerfile": dockerfile})
        self.write(files or {})
        built = Built(result=None)  # type: ignore[arg-type]
        built.result = build(self.store, BuildOptions(context=self.ctx, **opts), built.events.append)
        return built


@pytest.fixture
def bstore(busybox_store: Callable[[], Path]) -> Store:
    """A fresh store with busybox:latest (MINIDOCK_ROOT points at it)."""
    return Store.open(Paths(busybox_store()))


@pytest.fixture
def builder(bstore: Store, tmp_path: Path) -> Builder:
    return Builder(bstore, tmp_path / "ctx")


def run_image(image: str, *args: str) -> tuple[int, str]:
    """Run `image` in the store at MINIDOCK_ROOT (no network); (exit code, stdout+stderr)."""
    from minidock.engine.containers import RunIO, run_foreground
    from minidock.engine.request import RunRequest

    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        with tempfile.TemporaryFile() as out:
            fd = out.fileno()
            code = run_foreground(RunRequest(image=image, args=args, rm=True, network="none"),
                                  RunIO(stdin=devnull, stdout=fd, stderr=fd))
            out.seek(0)
            return code, out.read().decode()
    finally:
        os.close(devnull)
