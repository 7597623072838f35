"""A user's day with minidock against the local registry, ending with a store that checks clean.

pull (Docker Hub names through the mirror, index, zstd, whiteouts) -> run -> build -> tag -> save/load
-> rmi -> prune, then `system check` must find nothing wrong and `system df` must add up.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.fixtures.cli import MD
from tests.fixtures.registry import RegistryServer

pytestmark = [pytest.mark.root, pytest.mark.registry]


def test_a_day_with_minidock(registry: RegistryServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINIDOCK_ROOT", str(tmp_path / "root"))
    monkeypatch.setenv("MINIDOCK_CONFIG", str(registry.config_file(tmp_path)))

    def md(*args: str, stdin: bytes | None = None) -> str:
        r = subprocess.run([*MD, *args], input=stdin, capture_output=True, check=False, timeout=120)
        assert r.returncode == 0, f"minidock {' '.join(args)}: {r.stderr.decode()}"
        return r.stdout.decode()

    for name in ("busybox", "alpine", "multi", "zstd", "plain"):
        assert md("pull", "-q", name).strip() == f"docker.io/library/{name}:latest"
    assert md("run", "--rm", "--network", "none", "alpine", "cat", "/etc/alpine-release").strip() == "3.20.3"
    cid = md("create", "--network", "none", "--entrypoint", "/none", "plain").strip()
    md("export", cid, "-o", str(tmp_path / "plain.tar"))
    with tarfile.open(tmp_path / "plain.tar") as t:
        names = {n.removeprefix("./").rstrip("/") for n in t.getnames()}
        motd = t.extractfile(next(m for m in t.getmembers() if m.name.endswith("etc/motd")))
        assert motd is not None and motd.read() == b"two\n"
    assert {"etc/motd", "data/new"} <= names and not {"etc/gone", "data/old"} & names  # whiteouts applied
    md("rm", cid)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "greeting").write_text("hello from a build\n")
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY greeting /greeting\nRUN rm -rf /tmp\n"
                                    'CMD ["cat", "/greeting"]\n')
    md("build", "-q", "-t", "me/app:1", str(ctx))
    assert md("run", "--rm", "--network", "none", "me/app:1") == "hello from a build\n"
    md("tag", "me/app:1", "me/app:2")
    md("save", "-o", str(tmp_path / "app.tar"), "me/app:2")
    md("rmi", "me/app:1", "me/app:2", "multi", "zstd")
    md("load", "-i", str(tmp_path / "app.tar"))
    assert md("run", "--rm", "--network", "none", "me/app:2") == "hello from a build\n"
    md("image", "prune", "-f")
    assert md("system", "check") == "store is consistent\n"  # exit 0 and nothing to report
    images = [json.loads(line)["Repository"] for line in md("images", "--format", "json").splitlines()]
    assert sorted(images) == ["alpine", "busybox", "me/app", "plain"]
    df = md("system", "df")
    assert df.splitlines()[0].split()[:2] == ["TYPE", "TOTAL"]
