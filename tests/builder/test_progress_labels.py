"""The step labels `--progress plain` shows, as BuildKit numbers them (`[2/4]`, `[builder 1/2]`), and the
text it shows for them (FROM's normalised name, RUN with its variables expanded and its quotes kept)."""

from __future__ import annotations

import pytest

from minidock.builder.events import StepStarted
from tests.builder.conftest import Builder

pytestmark = pytest.mark.root


def _shown(built: object) -> list[tuple[str, str]]:
    return [(e.vertex, e.display) for e in built.events if isinstance(e, StepStarted) and e.vertex]  # type: ignore[attr-defined]


def test_single_stage_numbers_and_texts(builder: Builder) -> None:
    built = builder("""FROM busybox
ARG WHO=world
ENV E=env
WORKDIR /w
RUN echo "hello $WHO" "$E" '$E' ${E:-x} > /greeting
RUN ["echo", "$E"]
COPY f /f
CMD ["sh"]
""", files={"f": "x"})
    assert _shown(built) == [("1/5", "FROM docker.io/library/busybox"), ("2/5", "WORKDIR /w"),
                             ("3/5", """RUN echo "hello world" "env" '$E' env > /greeting"""),
                             ("4/5", 'RUN ["echo", "env"]'), ("5/5", "COPY f /f")]


def test_multi_stage_labels_skip_scratch_and_stage_bases(builder: Builder) -> None:
    built = builder("""FROM busybox AS a
RUN echo a
FROM a AS b
RUN echo b
FROM scratch
COPY --from=b /bin/busybox /bb
""" + "".join(f"COPY --from=a /bin/busybox /b{i}\n" for i in range(9)))
    assert _shown(built) == [("a 1/2", "FROM docker.io/library/busybox"), ("a 2/2", "RUN echo a"),
                             ("b 1/1", "RUN echo b"), ("stage-2  1/10", "COPY --from=b /bin/busybox /bb"),
                             *((f"stage-2 {i + 2:>2}/10", f"COPY --from=a /bin/busybox /b{i}") for i in range(9))]
