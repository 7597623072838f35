"""Typed instructions: stage grouping, per-instruction flags, heredoc sources, errors naming line and flag."""

from __future__ import annotations

import pytest

from minidock.builder.flags import FlagError, parse_duration, parse_mount
from minidock.builder.instructions import (
    EXPANDING_KEYWORDS,
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    Healthcheck,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stopsignal,
    User,
    Volume,
    Workdir,
    parse_dockerfile,
    parse_instructions,
)
from minidock.errors import DockerfileError

MULTI = """\
ARG BASE=alpine
ARG TAG
FROM --platform=linux/amd64 ${BASE}:${TAG} AS Builder
RUN --mount=type=cache,target=/root/.cache,sharing=locked --network=none make
COPY --from=builder --chown=1:1 --chmod=755 --link a b /dst/
ADD --keep-git-dir --checksum=sha256:abc https://x/y.tgz /y
FROM scratch
ENV A=1 B="two words"
ENV LEGACY value with spaces
LABEL a=b
ARG X=1 Y
EXPOSE 80/tcp 443
WORKDIR /app
USER nobody:nogroup
CMD ["run", "it"]
ENTRYPOINT exec thing
VOLUME ["/data", "/logs"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=1m30s --timeout=500ms --retries=3 CMD curl -f http://x/
SHELL ["/bin/bash", "-c"]
ONBUILD COPY . /src
MAINTAINER someone
"""


def test_stages_and_global_args() -> None:
    df = parse_dockerfile(MULTI)
    assert [a.pairs for a in df.global_args] == [(("BASE", "alpine"),), (("TAG", None),)]
    first, second = df.stages
    assert (first.position, first.name, first.base.image) == (0, "builder", "${BASE}:${TAG}")
    assert first.base.platform == "linux/amd64"
    assert second.base.image == "scratch" and second.name == ""
    assert second.global_args == df.global_args
    assert parse_instructions(MULTI) == list(df.stages)


def test_first_stage_instructions() -> None:
    run, copy, add = parse_dockerfile(MULTI).stages[0].instructions
    assert isinstance(run, Run) and run.cmd == ("make",) and not run.json and run.network == "none"
    assert run.mounts[0].type == "cache" and run.mounts[0].target == "/root/.cache"
    assert run.mounts[0].options == (("sharing", "locked"),) and run.line == 4
    assert copy == Copy(("a", "b"), "/dst/", chown="1:1", chmod="755", from_="builder", link=True,
                        line=5, original=copy.original)  # fmt: skip
    assert isinstance(add, Add) and add.keep_git_dir and add.checksum == "sha256:abc" and add.sources == ("https://x/y.tgz",)


def test_second_stage_instructions() -> None:
    insts = parse_dockerfile(MULTI).stages[1].instructions
    expected = [
        Env((("A", "1"), ("B", '"two words"'))), Env((("LEGACY", "value with spaces"),)), Label((("a", "b"),)),
        Arg((("X", "1"), ("Y", None))), Expose(("80/tcp", "443")), Workdir("/app"), User("nobody:nogroup"),
        Cmd(("run", "it"), json=True), Entrypoint(("exec thing",)), Volume(("/data", "/logs")), Stopsignal("SIGTERM"),
        Healthcheck(cmd=("curl -f http://x/",), interval=90.0, timeout=0.5, retries=3),
        Shell(("/bin/bash", "-c")), Onbuild("COPY . /src"), Maintainer("someone"),
    ]  # fmt: skip
    assert [type(i) for i in insts] == [type(e) for e in expected]
    for got, want in zip(insts, expected, strict=True):
        assert got == type(want)(**{**_fields(want), "line": got.line, "original": got.original})
    assert insts[0].line == 8 and insts[0].original == 'ENV A=1 B="two words"'


def _fields(obj: object) -> dict[str, object]:
    return {name: getattr(obj, name) for name in obj._fields}  # type: ignore[attr-defined]


def test_heredoc_sources_and_run_script() -> None:
    text = (
        "FROM a\nCOPY <<-A <<B plain /dst/\n\tone\n\tA\ntwo\nB\n"
        "RUN <<EOF\n\techo hi\nEOF\nONBUILD RUN <<X\nbody\nX\n"
    )
    copy, run, onbuild = parse_dockerfile(text).stages[0].instructions
    assert isinstance(copy, Copy) and copy.sources == ("plain",) and copy.dest == "/dst/"
    assert [(d.name, d.content) for d in copy.heredocs] == [("A", "one\n"), ("B", "two\n")]
    assert isinstance(run, Run) and run.heredocs[0].content == "\techo hi\n"
    assert isinstance(onbuild, Onbuild) and onbuild.expression == "RUN <<X" and onbuild.heredocs[0].content == "body\n"


def test_healthcheck_none() -> None:
    (hc,) = parse_dockerfile("FROM a\nHEALTHCHECK NONE\n").stages[0].instructions
    assert isinstance(hc, Healthcheck) and hc.none


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FROM a\nCOPY --frm=x a b\n", r"^Dockerfile:2: unknown flag: --frm for copy$"),
        ("FROM a\nRUN --chown=1 x\n", "unknown flag: --chown for run"),
        ("FROM --from=x a\n", "unknown flag: --from"),
        ("FROM a\nCOPY --from a b\n", "missing a value on flag: --from"),
        ("FROM a\nCOPY --from=a --from=b a b\n", "duplicate flag"),
        ("FROM a\nCOPY --link=maybe a b\n", "expecting boolean"),
        ("FROM a\nWORKDIR --x=1 /a\n", "unknown flag: --x for workdir"),
        ("FROM a\nCOPY onlyone\n", "at least two arguments"),
        ("FROM a b\n", "one or three arguments"),
        ("FROM a AS 1x\n", "invalid name for build stage"),
        ("RUN x\nFROM a\n", r"^Dockerfile:1: run must come after FROM"),
        ("FROM a\nSHELL /bin/sh\n", "json form"),
        ("FROM a\nONBUILD FROM x\n", "FROM isn't allowed as an ONBUILD trigger"),
        ("FROM a\nHEALTHCHECK --interval=1x CMD a\n", "invalid duration"),
        ("FROM a\nHEALTHCHECK --timeout=-1s CMD a\n", "--timeout cannot be negative"),
        ("FROM a\nHEALTHCHECK PING a\n", "unknown type PING"),
        ("FROM a\nRUN --network=bridge x\n", "unsupported network mode"),
        ("FROM a\nRUN --mount=type=bind x\n", "mount target is required"),
        ("FROM a\nWORKDIR\n", "workdir requires exactly one argument"),
        ("FROM a\nVOLUME [\"\"]\n", "can not be an empty string"),
    ],
)
def test_errors_name_line(text: str, message: str) -> None:
    with pytest.raises(DockerfileError, match=message):
        parse_dockerfile(text)


def test_mount_parsing() -> None:
    m = parse_mount("type=bind,src=ctx,dst=/x,from=build,rw")
    assert (m.type, m.source, m.target, m.from_, m.readonly) == ("bind", "ctx", "/x", "build", False)
    assert parse_mount("target=/y").readonly is True
    assert parse_mount("type=cache,target=/y,ro=true").readonly is True
    with pytest.raises(FlagError):
        parse_mount("type=nfs,target=/y")


def test_durations() -> None:
    assert parse_duration("1h2m3.5s", "x") == pytest.approx(3723.5)
    assert parse_duration("0", "x") == 0.0
    assert parse_duration("250ms", "x") == pytest.approx(0.25)


def test_expanding_keywords() -> None:
    expected = {"add", "copy", "env", "expose", "from", "label", "stopsignal", "user", "volume", "workdir"}
    assert expected <= EXPANDING_KEYWORDS
    assert not {"run", "cmd", "entrypoint", "onbuild", "shell", "healthcheck"} & EXPANDING_KEYWORDS
