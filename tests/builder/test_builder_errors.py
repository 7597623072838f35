"""Bad Dockerfiles and failing steps: one clean message naming the line or step, and the store unchanged."""

from __future__ import annotations

import pytest

from minidock.errors import BuildError, DockerfileError, MinidockError
from minidock.store.snapshots import ACTIVE
from minidock.store.store import Store
from tests.builder.conftest import Builder

pytestmark = pytest.mark.root


def _state(store: Store) -> tuple[list[str], int]:
    """(image names, active snapshots): what a failed build must leave as it found it."""
    names = [r.name for r in store.images.list()]
    return names, sum(1 for s in store.snapshots.list(sizes=False) if s.kind == ACTIVE)


@pytest.mark.parametrize(("dockerfile", "error", "message"), [
    ("FROM busybox\nFROB x\n", DockerfileError, "Dockerfile:2: unknown instruction: FROB"),
    ("FROM busybox\nSHELL /bin/bash -c\n", DockerfileError, "Dockerfile:2: shell requires the arguments to be in json"),
    ("FROM busybox\nCOPY --from=nowhere /x /y\n", BuildError, "Dockerfile:2: COPY --from=nowhere /x /y: "),
    ("FROM busybox\nCOPY ../outside.txt /x\n", BuildError, "Dockerfile:2: COPY ../outside.txt /x: "
                                                          "../outside.txt: path is outside the build context"),
    ("FROM busybox\nCOPY missing.txt /x\n", BuildError, "Dockerfile:2: COPY missing.txt /x: missing.txt: "
                                                       "no such file or directory in the build context"),
    ("FROM busybox\nENV A=${B:?must be set}\n", DockerfileError, "Dockerfile:2: "),
    ("FROM nosuchimage:1\n", BuildError, "Dockerfile:1: FROM nosuchimage:1: image nosuchimage:1: not found"),
    ("FROM busybox\nRUN echo partial > /p\nRUN false\nCMD [\"x\"]\n", BuildError,
     "build: step 3/4 RUN false: exit code 1"),
    ("FROM busybox\nRUN exit 7\n", BuildError, "build: step 2/2 RUN exit 7: exit code 7"),
])
def test_bad_input_fails_cleanly(builder: Builder, dockerfile: str, error: type[MinidockError], message: str) -> None:
    before = _state(builder.store)
    with pytest.raises(error) as info:
        builder(dockerfile, tags=("bad:1",))
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)
    assert _state(builder.store) == before


def test_missing_target_stage(builder: Builder) -> None:
    with pytest.raises(BuildError, match="target stage 'nope' could not be found"):
        builder("FROM busybox AS a\n", target="nope")


def test_bad_tag_fails_before_building(builder: Builder) -> None:
    with pytest.raises(MinidockError, match="UPPER"):
        builder("FROM busybox\nRUN exit 9\n", tags=("UPPER:case",))


def test_failed_run_keeps_cache_of_earlier_steps(builder: Builder) -> None:
    with pytest.raises(BuildError):
        builder("FROM busybox\nRUN echo slow > /s\nRUN false\n")
    retry = builder("FROM busybox\nRUN echo slow > /s\nRUN true\n")
    assert retry.cached[1:] == [True, False]


def test_foreign_platform_builds_copies_but_cannot_run(builder: Builder) -> None:
    built = builder("FROM scratch\nCOPY f /f\n", files={"f": "x"}, platform="linux/arm64")
    assert (built.result.config.os, built.result.config.architecture) == ("linux", "arm64")
    with pytest.raises(BuildError, match=r"cannot RUN in stage 0: its platform linux/arm64 is not this host's"):
        builder("FROM scratch\nRUN true\n", platform="linux/arm64")
