"""`--progress plain|tty`: the shape of BuildKit's output (`#N [i/n] INSTR`, `#N DONE 0.3s`, `#N CACHED`)."""

from __future__ import annotations

import io
import re

from minidock.cli.buildprogress import Plain, Tty
from minidock.engine import build as eng
from minidock.oci.digest import Digest

IMAGE = Digest("sha256", "ab" * 32)
EVENTS: list[eng.BuildEvent] = [
    eng.StepStarted(1, 5, "0", "FROM busybox", "1/3", "FROM docker.io/library/busybox"),
    eng.StepDone(1, 0.01),
    eng.StepStarted(2, 5, "0", "ENV A=1"),
    eng.StepDone(2, 0.0),
    eng.StepStarted(3, 5, "0", "COPY a /a", "2/3"),
    eng.StepDone(3, 0.0, cached=True),
    eng.StepStarted(4, 5, "0", "RUN echo hi", "3/3"),
    eng.StepOutput(4, b"hel"),
    eng.StepOutput(4, b"lo\nsecond\npartial"),
    eng.StepDone(4, 0.31),
    eng.BuildFinished(IMAGE, IMAGE, ("docker.io/library/t1:latest",), 0.5),
]


def test_plain_is_buildkits_shape() -> None:
    out = io.StringIO()
    printer = Plain(out)
    for e in EVENTS:
        printer(e)
    text = re.sub(r"#(\d+) \d+\.\d{3} ", r"#\1 T ", out.getvalue())
    assert text == (
        "#1 [1/3] FROM docker.io/library/busybox\n#1 DONE 0.0s\n\n"
        "#2 [2/3] COPY a /a\n#2 CACHED\n\n"
        "#3 [3/3] RUN echo hi\n#3 T hello\n#3 T second\n#3 T partial\n#3 DONE 0.3s\n\n"
        f"#4 exporting to image\n#4 exporting layers done\n#4 writing image {IMAGE} done\n"
        "#4 naming to docker.io/library/t1 done\n#4 DONE 0.0s\n\n")


def test_plain_internal_steps_and_names_as_typed() -> None:
    out = io.StringIO()
    printer = Plain(out, ("t1", "t2:latest"))
    printer(eng.Internal("load build definition from Dockerfile", "transferring dockerfile: 78B"))
    printer(eng.Internal("load .dockerignore"))
    printer(eng.BuildFinished(IMAGE, IMAGE, ("docker.io/library/t1:latest", "docker.io/library/t2:latest"), 0.1))
    lines = out.getvalue().splitlines()
    assert lines[:6] == ["#1 [internal] load build definition from Dockerfile", "#1 transferring dockerfile: 78B done",
                         "#1 DONE 0.0s", "", "#2 [internal] load .dockerignore", "#2 DONE 0.0s"]
    assert "#3 naming to docker.io/library/t1:latest done" in lines  # a :latest was typed for one of them
    printer = Plain(out := io.StringIO(), ("t1",))
    printer(eng.BuildFinished(IMAGE, IMAGE, ("docker.io/library/t1:latest",), 0.1))
    assert "#1 naming to docker.io/library/t1 done" in out.getvalue().splitlines()


def test_plain_error_and_export() -> None:
    out = io.StringIO()
    printer = Plain(out)
    printer(eng.StepStarted(1, 2, "b", "RUN exit 4", "b 2/2"))
    printer(eng.StepOutput(1, b"oops\n"))
    printer.fail("build: step 2/2 RUN exit 4: exit code 4")
    printer(eng.BuildFinished(IMAGE, IMAGE, (), 0.1, recorded=False))
    printer(eng.Exported("local", "out", 0.2))
    lines = out.getvalue().splitlines()
    assert lines[0] == "#1 [b 2/2] RUN exit 4" and lines[1].endswith(" oops")
    assert lines[2:6] == ["#1 ERROR: build: step 2/2 RUN exit 4: exit code 4", "------", " > [b 2/2] RUN exit 4:",
                          "------"]
    assert lines[6:] == ["#2 exporting to client", "#2 copying files 0.2s done", "#2 DONE 0.2s", ""]


def _screen(text: str) -> list[str]:
    """What a terminal shows after `text`: `ESC[nA ESC[J` erases the last n lines."""
    lines: list[str] = []
    for i, part in enumerate(re.split(r"\x1b\[(\d+)A\x1b\[J", text)):
        if i % 2:
            del lines[len(lines) - int(part):]
        else:
            lines += part.split("\n")[:-1] if part.endswith("\n") or not part else part.split("\n")
    return [" ".join(line.split()) for line in lines]


def test_tty_one_line_per_step() -> None:
    out = io.StringIO()
    printer = Tty(out)
    for e in EVENTS:
        printer(e)
    lines = _screen(out.getvalue())
    assert lines[:3] == ["=> [1/3] FROM docker.io/library/busybox 0.0s", "=> CACHED [2/3] COPY a /a 0.0s",
                         "=> [3/3] RUN echo hi 0.3s"]
    assert lines[3] == "=> exporting to image 0.0s" and lines[-1].startswith("[+] Building ")
    assert lines[-1].endswith("(6/6) FINISHED")


def test_tty_redraws_the_running_step_and_boxes_a_failure() -> None:
    out = io.StringIO()
    printer = Tty(out)
    printer(eng.StepStarted(1, 2, "0", "RUN make", "2/2"))
    printer.redrawn = 0.0  # past the redraw rate limit
    printer(eng.StepOutput(1, b"".join(b"line %d\n" % i for i in range(10))))
    live = _screen(out.getvalue())
    assert live[0].startswith("=> [2/2] RUN make ") and live[1:] == [f"=> => # line {i}" for i in range(4, 10)]
    printer.fail("build: step 2/2 RUN make: exit code 2")
    final = _screen(out.getvalue())
    assert final[0].startswith("=> ERROR [2/2] RUN make ") and final[1:3] == ["------", "> [2/2] RUN make:"]
    assert final[3:13] == [f"#0 line {i}" for i in range(10)] and final[13] == "------"
