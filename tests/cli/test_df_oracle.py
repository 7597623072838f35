"""`system df -v` judged by Docker 20.10: the same objects made in both engines (two images of our own
that share a layer, one of them tagged twice; a busybox container that wrote 123456 bytes; a created
container holding a named volume with a 5000-byte file) print the same rows; the four sections, their
titles, blank lines and column headers are Docker's; a bad template is Docker's error. The oracle
daemon is shared, so what other tests left in it (images, containers, build cache) is left out of the
comparison, and everything made here is removed again."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures import images as im
from tests.fixtures.oracle import Both

pytestmark = [pytest.mark.registry, pytest.mark.root]

SETUP = (("pull", "-q", "dfv-probe"), ("pull", "-q", "dfv-top"), ("pull", "-q", "busybox"),
         ("tag", "dfv-probe", "dfv-alias:x"), ("volume", "create", "dfv-vol"),
         ("run", "--rm", "--network", "none", "-v", "dfv-vol:/v", "busybox", "sh", "-c",
          "head -c 5000 /dev/zero > /v/x"),
         ("run", "--name", "dfv-w", "--network", "none", "busybox", "sh", "-c", "head -c 123456 /dev/zero > /f"),
         ("create", "--name", "dfv-c", "--network", "none", "-v", "dfv-vol:/v", "dfv-probe"))
CLEANUP = (("rm", "-f", "dfv-w", "dfv-c"), ("volume", "rm", "dfv-vol"), ("rmi", "dfv-alias:x", "dfv-probe", "dfv-top"))

IMAGE = ("{{range .Images}}{{if eq .Repository \"%s\"}}{{.Repository}}|{{.Tag}}|{{.ID}}|{{.CreatedSince}}|"
         "{{.CreatedAt}}|{{.Size}}|{{.VirtualSize}}|{{.SharedSize}}|{{.UniqueSize}}|{{.Containers}}|{{.Digest}}"
         "{{end}}{{end}}")
CONTAINERS = ("{{range .Containers}}{{if eq .Names \"dfv-w\" \"dfv-c\"}}{{.Names}}|{{.Image}}|{{.Command}}|"
              "{{.LocalVolumes}}|{{.Size}}|{{.State}}|{{.Mounts}}|{{.Labels}}|{{.Ports}}{{println}}{{end}}{{end}}")
VOLUME = ("{{range .Volumes}}{{if eq .Name \"dfv-vol\"}}{{.Name}}|{{.Links}}|{{.Size}}|{{.Driver}}|{{.Scope}}|"
          "{{.Labels}}{{end}}{{end}}")


def skeleton(text: str) -> list[Any]:
    """A `df -v` table output without its rows: titles, blank lines, each section's column headers."""
    out: list[Any] = []
    header_next = False
    for line in text.split("\n"):
        if line.endswith(" space usage:") or line.startswith("Build cache usage: "):
            out.append(line.split(":")[0])
            header_next = True
        elif line == "":
            out.append("")
        elif header_next:
            out.append(re.split(r"\s{2,}", line.strip()))
            header_next = False
    return out


def row(text: str, first: str) -> list[str]:
    """The cells of the table row whose first cell (or last: a container's name) is `first`."""
    for line in text.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if first in (cells[0], cells[-1]):
            return cells
    raise AssertionError(f"no row {first}")


def raw_keys(text: str) -> dict[str, list[str]]:
    """`--format raw`: each object type's keys, in order."""
    out: dict[str, list[str]] = {}
    for block in text.split("\n\n"):
        keys = [line.split(":")[0] for line in block.splitlines()]
        if keys and keys[0] == "type":
            out[block.splitlines()[0]] = keys
    return out


def test_df_verbose_as_docker(oracle: Any, tmp_path: Path) -> None:
    shared = im.make_tar([("probe", "file", os.urandom(3000))])
    push = oracle.registry.pusher()
    push.image("library/dfv-probe", im.make_image([shared], cmd=["/probe"]), "latest")
    push.image("library/dfv-top", im.make_image([shared, im.make_tar([("top", "file", os.urandom(1500))])],
                                                cmd=["/top"]), "latest")
    both = Both(oracle, tmp_path / "root")
    for args in CLEANUP:  # a run that died half-way
        oracle.docker(*args)
    try:
        for engine in (oracle.docker, both.md):
            for args in SETUP:
                assert engine(*args).returncode == 0, (engine, args)
        assert both.same("system", "df", "-v", "--format", IMAGE % "dfv-alias").startswith("dfv-alias|x|")
        assert "|1.5kB|" in both.same("system", "df", "-v", "--format", IMAGE % "dfv-top")  # unique: its own layer
        assert both.same("system", "df", "-v", "--format", CONTAINERS) == (  # full commands: not a table
            'dfv-c|dfv-probe|"/probe"|1|0B|created|dfv-vol||\n'
            'dfv-w|busybox|"sh -c \'head -c 123456 /dev/zero > /f\'"|0|123kB|exited|||\n')
        assert both.same("system", "df", "-v", "--format", VOLUME) == "dfv-vol|1|5kB|local|local|"
        d, m = both.both("system", "df", "-v")
        assert (m.returncode, skeleton(m.stdout)) == (d.returncode, skeleton(d.stdout))
        assert skeleton(m.stdout)[:4] == ["Images space usage", "", ["REPOSITORY", "TAG", "IMAGE ID", "CREATED",
                                          "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"], ""]
        for first in ("dfv-alias", "dfv-top", "dfv-vol"):
            assert row(m.stdout, first) == row(d.stdout, first)
        for name in ("dfv-w", "dfv-c"):  # all but the id and the times
            cells = (1, 2, 3, 4, 7)
            assert [row(m.stdout, name)[i] for i in cells] == [row(d.stdout, name)[i] for i in cells]
        d, m = both.both("system", "df", "-v", "--format", "raw")
        dk, mk = raw_keys(d.stdout), raw_keys(m.stdout)
        assert {k: mk[k] for k in dk if k in mk} == {k: dk[k] for k in dk if k in mk} and len(mk) >= 3
        for args in (("--format", "{{.Foo}}"), ("--format", "{{.Foo"), ("--format", "table {{.ID}}")):
            both.same_error("system", "df", "-v", *args)
    finally:
        for args in CLEANUP:
            oracle.docker(*args)
            both.md(*args)
