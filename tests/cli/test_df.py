"""`system df -v` rendering (cli/df.py) against Docker 20.10's own output, and through the CLI."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from minidock.cli.df import render
from minidock.cli.main import main
from minidock.engine import diskusage as du
from minidock.engine.glance import rfc3339
from minidock.oci.digest import Digest
from minidock.paths import Paths
from minidock.store.store import Store
from tests.store.imagetools import add_image

# `docker system df -v` of Docker 20.10: two containers s1, s2 of image bb, no volumes, no build cache
DOCKER = """Images space usage:

REPOSITORY   TAG       IMAGE ID       CREATED       SIZE      SHARED SIZE   UNIQUE SIZE   CONTAINERS
bb           latest    ba705c34daed   2 years ago   1.99MB    0B            1.986MB       2

Containers space usage:

CONTAINER ID   IMAGE     COMMAND                  LOCAL VOLUMES   SIZE      CREATED              STATUS                          NAMES
cdafa85e6450   bb        "true"                   0               0B        About a minute ago   Created                         s2
2569e82ed995   bb        "sh -c 'head -c 1234…"   0               123kB     About a minute ago   Exited (0) About a minute ago   s1

Local Volumes space usage:

VOLUME NAME   LINKS     SIZE

Build cache usage: 0B

CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED
"""  # noqa: E501


def _usage(now: float) -> du.DiskUsage:
    image_id = Digest.parse("sha256:ba705c34daed" + "0" * 52)
    image = du.ImageUsage("bb", "latest", image_id, rfc3339(now - 2 * 365 * 86400 - 1000), 1_986_000, 0, 2)
    ago = rfc3339(now - 90)
    s2 = {"id": "cdafa85e6450" + "1" * 52, "name": "s2", "image": "bb", "command": ["true"], "created": ago,
          "status": "created"}
    s1 = {"id": "2569e82ed995" + "2" * 52, "name": "s1", "image": "bb", "created": ago, "status": "exited",
          "command": ["sh", "-c", "head -c 123456 /dev/urandom > /f"], "exit_code": 0, "finished_at": ago}
    return du.DiskUsage([image], [du.ContainerUsage(s2, 0), du.ContainerUsage(s1, 123_456)], [], [], 1_986_000)


def test_tables_are_dockers_byte_for_byte() -> None:
    now = time.time()
    assert render("", _usage(now), now) == render("table", _usage(now), now) == DOCKER


def test_volumes_and_build_cache_rows() -> None:
    now = time.time()
    usage = du.DiskUsage([], [], [du.VolumeUsage("vol1", "/v/_data", {"k": "v"}, 1, 5000)], [
        du.CacheUsage("d1489d63020f74a7d3a8", "regular", 2000, now - 90, shared=True, parent="sha256:1caaf7f7e3cce2"),
        du.CacheUsage("facd442ef63045438c3a2910e0644528", "exec.cachemount", 3000, now - 5, in_use=True)], 0)
    out = render("", usage, now)
    assert "\nVOLUME NAME   LINKS     SIZE\nvol1          1         5kB\n" in out
    assert out.endswith(  # shared entries are not counted in the total
        "Build cache usage: 3kB\n\n"
        "CACHE ID        CACHE TYPE        SIZE      CREATED              LAST USED   USAGE     SHARED\n"
        "d1489d63020f    regular           2kB       About a minute ago               0         true\n"
        "facd442ef630*   exec.cachemount   3kB       5 seconds ago                    0         false\n")
    text = render("{{range .BuildCache}}{{.ID}} {{.Parent}} {{.InUse}}|{{end}}", usage, now)
    assert text == "d1489d63020f74a7d3a8 sha256:1caaf7f7e3cce2 false|facd442ef63045438c3a2910e0644528*  true|"
    assert render("table {{range .BuildCache}}{{.Parent}}|{{end}}", usage, now) == "1caaf7f7e3cc||"
    assert render("{{range .Volumes}}{{json .}}{{end}}", usage, now) == (
        '{"Driver":"local","Labels":"k=v","Links":"1","Mountpoint":"/v/_data","Name":"vol1","Scope":"local",'
        '"Size":"5kB"}')


def test_templates_raw_and_json() -> None:
    now = time.time()
    usage = _usage(now)
    assert render("{{len .Images}} {{range .Images}}{{.ID}}{{end}}", usage, now) == "1 sha256:ba705c34daed" + "0" * 52
    assert render("table {{range .Containers}}{{.ID}} {{.Command}} {{.Size}};{{end}}", usage, now) == (
        'cdafa85e6450 "true" 0B;2569e82ed995 "sh -c \'head -c 1234…" 123kB;')
    raw = render("raw", usage, now)
    assert raw.startswith("type: Image\nrepository: bb\ntag: latest\ndigest: \nimage_id: sha256:ba705c34daed")
    assert "\nvirtual_size: 1.99MB\n\ntype: Container\ncontainer_id: cdafa85e6450" in raw
    assert "\nlabels:\nports:\nsize: 0B\n\n" in raw and raw.endswith("size: 123kB\n\n")
    assert render("json", usage, now).startswith('{"Images":[{"Containers":"2","CreatedAt":')


@pytest.fixture
def store(store_root: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("MINIDOCK_ROOT", str(store_root))
    return Store.open(Paths(store_root))


def test_cli_verbose_and_its_errors(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_image(store, "docker.io/library/a:1", [{"f": b"1" * 100}], tmp_path)
    assert main(["system", "df", "-v"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:4] == ["Images space usage:", "", out[2], out[3]] and out[3].startswith("a            1         ")
    assert [ln for ln in out if ln.endswith(":") or ln.startswith("Build")] == [
        "Images space usage:", "Containers space usage:", "Local Volumes space usage:", "Build cache usage: 0B"]
    assert main(["system", "df", "--verbose", "--format", "{{len .Images}}"]) == 0
    assert capsys.readouterr().out == "1"  # Docker adds no newline
    assert main(["system", "df", "-v", "--format", "table {{.ID}}"]) == 1
    assert capsys.readouterr().err == ('template: :1:2: executing "" at <.ID>: can\'t evaluate field ID in type '
                                       '*formatter.diskUsageContext\n')
    assert main(["system", "df", "-v", "--format", "{{.ID"]) == 1
    assert capsys.readouterr().err == "template parsing error: template: :1: unclosed action\n"
    assert main(["system", "df", "--format", "raw"]) == 0
    assert capsys.readouterr().out.startswith("type: Images\ntotal: 1\nactive: 0\nsize: 100B\n"
                                              "reclaimable: 100B (100%)\n\ntype: Containers\n")
