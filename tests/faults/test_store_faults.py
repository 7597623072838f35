"""Store faults: `pull` and `build` killed with SIGKILL at many points, and damaged store files.

After every kill the next command (the same pull or build) must succeed, `system check` must be clean
without --repair, no scratch (tmp/, ingest/, snapshots/build-*) may be left, and the image that was
already in the store must be intact and runnable. Kills land at fixed points where a state on disk
shows the process is there (a partial ingest, a RUN's marker file in its upper dir, the RUN container
gone while the layer is written, the layer's ingest) and at a sweep of delays over a pull slowed by a
throttling proxy. Damaged images.json, container state file and blob: `--repair` brings the store
back (the intact images usable, a re-pull fixes the image whose blob was corrupt).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.procs import kill
from tests.fixtures import images as im
from tests.fixtures.registry import RegistryServer
from tests.image.proxy import Proxy

pytestmark = [pytest.mark.registry, pytest.mark.root, pytest.mark.slow]
MD = [sys.executable, "-m", "minidock"]
IMAGE = "faultpull"


class Store:
    """A store root and the config files naming the registry directly or through a proxy."""

    def __init__(self, root: Path, config: Path) -> None:
        self.root, self.config = root, config

    def env(self, config: Path | None = None) -> dict[str, str]:
        return {**os.environ, "MINIDOCK_ROOT": str(self.root), "MINIDOCK_CONFIG": str(config or self.config)}

    def md(self, *args: str, config: Path | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([*MD, *args], env=self.env(config), input=stdin, capture_output=True, text=True,
                              timeout=300, check=False)

    def ok(self, *args: str, config: Path | None = None) -> str:
        r = self.md(*args, config=config)
        assert r.returncode == 0, f"minidock {' '.join(args)}: {r.stdout}{r.stderr}"
        return r.stdout

    def start(self, *args: str, config: Path | None = None) -> subprocess.Popen[bytes]:
        return subprocess.Popen([*MD, *args], env=self.env(config), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    def scratch(self) -> list[str]:
        """Every scratch entry: tmp/*, ingest/*, snapshots/build-*."""
        out = [f"{area}/{n}" for area in ("tmp", "ingest") for n in os.listdir(self.root / area)]
        return sorted(out + [f"snapshots/{n}" for n in os.listdir(self.root / "snapshots") if n.startswith("build-")])


def mirror_config(directory: Path, url: str, name: str) -> Path:
    path = directory / name
    path.write_text(json.dumps({"registry-mirrors": [url]}))
    return path


def wait_for(cond: Callable[[], bool], proc: subprocess.Popen[bytes], timeout: float = 120) -> bool:
    """Poll `cond` while `proc` runs; True once it holds (False: `proc` ended or time ran out first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if cond():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture(scope="module")
def fault_image(registry: RegistryServer) -> im.Image:
    """Three layers: random bytes, 1500 small files (a long unpack), random bytes again."""
    files = [(f"many/f{i:04}", "file", os.urandom(256)) for i in range(1500)]
    img = im.make_image([im.random_layer(2 << 20, "a.bin"), im.make_tar(files), im.random_layer(2 << 20, "c.bin")])
    registry.pusher().image(f"library/{IMAGE}", img, "latest")
    return img


@pytest.fixture(scope="module")
def template(registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A store holding busybox (the image that must survive every fault)."""
    d = tmp_path_factory.mktemp("faults")
    s = Store(d / "root", mirror_config(d, registry.url, "direct.json"))
    s.ok("pull", "-q", "busybox")
    return s


@pytest.fixture
def fresh(template: Store, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Factory: a private copy of the template store."""
    made: list[Store] = []

    def make() -> Store:
        root = tmp_path / f"root{len(made)}"
        subprocess.run(["cp", "-a", str(template.root), str(root)], check=True)
        made.append(Store(root, template.config))
        return made[-1]
    yield make
    for s in made:  # containers a failed test left
        ids = s.md("ps", "-aq", "--no-trunc").stdout.split()
        if ids:
            s.md("rm", "-f", *ids)


def assert_recovered(s: Store) -> None:
    """The store is consistent without --repair, holds no scratch, and busybox still runs."""
    r = s.md("system", "check")
    assert (r.returncode, r.stdout) == (0, "store is consistent\n"), r.stdout + r.stderr
    assert s.scratch() == []
    assert s.ok("run", "--rm", "--network", "none", "busybox", "echo", "intact") == "intact\n"


# ---- pull ---------------------------------------------------------------------------------------
def test_pull_killed_at_many_points(registry: RegistryServer, fault_image: im.Image, fresh: Callable[[], Store],
                                    tmp_path: Path) -> None:
    """A sweep of kill times over a throttled pull (manifest, config, ingest, unpack, commit, record),
    counted from its first request: each time the same pull afterwards completes, check is clean,
    nothing is left, busybox is intact."""
    seen: set[str] = set()
    landed = 0
    with Proxy(registry.url, chunk_delay=0.03) as proxy:
        slow = mirror_config(tmp_path, f"http://{proxy.host}", "slow.json")
        for delay in (0.0, 0.1, 0.25, 0.4, 0.6, 0.9, 1.2, 1.6, 3.0):
            s = fresh()
            asked = len(proxy.requests)
            proc = s.start("pull", IMAGE, config=slow)
            wait_for(lambda: len(proxy.requests) > asked, proc)  # noqa: B023 - polled at once
            time.sleep(delay)
            landed += kill(proc)
            seen.update(name.split("-")[0] for name in s.scratch())
            assert "Digest: sha256:" in s.ok("pull", IMAGE)
            assert_recovered(s)
            assert IMAGE in s.ok("images")
    assert landed >= 4 and {"tmp/extract", "ingest/layer"} <= seen, (landed, seen)


def test_killed_pull_leftovers_are_reported_and_reclaimed(registry: RegistryServer, fault_image: im.Image,
                                                          fresh: Callable[[], Store], tmp_path: Path) -> None:
    """Before anything reclaims them, check reports a dead pull's leftovers with their sizes, df counts
    the same bytes as reclaimable, and `image prune` takes them (then `check --repair` has nothing)."""
    from minidock.engine.images import check_store, disk_usage
    from minidock.paths import Paths
    from minidock.store.store import Store as RealStore

    with Proxy(registry.url, stall_after=512 << 10) as proxy:
        s = fresh()
        proc = s.start("pull", IMAGE, config=mirror_config(tmp_path, f"http://{proxy.host}", "stall.json"))
        kept = lambda: sum(p.stat().st_size for p in (s.root / "ingest").glob("layer-*/data"))  # noqa: E731
        assert wait_for(lambda: kept() >= 2 * (512 << 10), proc)
        assert kill(proc)
    store = RealStore.open(Paths(s.root))
    report = check_store(store)
    sizes = {p.target.split("/")[-1].split(".p")[0]: p.size for p in report.problems}
    assert {k.split("-")[0] for k in sizes} == {"extract", "layer"} and sum(sizes.values()) >= 1 << 20, sizes
    cache = {r.type: r for r in disk_usage(store)}["Build Cache"]
    assert cache.reclaimable == sum(p.size for p in report.problems)
    out = s.md("system", "check").stdout
    assert "ingest leftover layer-" in out and "is gone" in out and "reclaimable: " in out
    assert "Total reclaimed space: 0B" not in s.ok("image", "prune", "-f")
    assert s.scratch() == [] and check_store(store).problems == []
    assert_recovered(s)


def test_corrupt_blob_repaired_then_pull_fixes_the_image(registry: RegistryServer, fault_image: im.Image,
                                                         fresh: Callable[[], Store]) -> None:
    """--repair of a corrupt layer blob leaves a state a re-pull fixes; `save` says what is missing in one line."""
    s = fresh()
    s.ok("pull", IMAGE)
    layer = fault_image.layers[0]["digest"].split(":")[1]
    blob = s.root / "blobs" / "sha256" / layer
    os.chmod(blob, 0o644)
    with open(blob, "r+b") as f:
        f.write(b"\0corrupt")
    r = s.md("system", "check", "--repair")
    assert r.returncode == 1 and f"layer blob sha256:{layer} missing (pull the image again)" in r.stdout
    save = s.md("save", "-o", str(s.root.parent / "x.tar"), IMAGE)
    assert save.returncode in (1, 125) and save.stderr.count("\n") == 1 and "Traceback" not in save.stderr
    assert f"layer blob sha256:{layer} missing" in save.stderr and not (s.root.parent / "x.tar").exists()
    s.ok("rmi", IMAGE)  # the layers' snapshots may stay (build cache): the next pull must fetch the blob
    s.ok("pull", IMAGE)
    assert_recovered(s)
    s.ok("save", "-o", str(s.root.parent / "x.tar"), IMAGE)


# ---- build --------------------------------------------------------------------------------------
DOCKERFILE = """FROM busybox
RUN echo kept > /kept
RUN dd if=/dev/urandom of=/big bs=1M count=12 2>/dev/null && touch /ran && sleep 0.5
COPY f /f
"""


def _build_points(root: Path) -> dict[str, Callable[[], bool]]:
    def in_run() -> bool:
        return any(root.glob("snapshots/build-*/fs/ran"))

    def writing_layer() -> bool:
        return in_run() and not any(root.glob("tmp/buildroot-*"))

    def ingesting() -> bool:
        return any(root.glob("ingest/build-*"))

    def committing() -> bool:  # the snapshot being assembled before its one rename
        return any(root.glob("tmp/commit-*"))
    return {"run": in_run, "layer": writing_layer, "ingest": ingesting, "commit": committing}


@pytest.mark.parametrize("point", ["run", "layer", "ingest", "commit"])
def test_build_killed_at_a_point(point: str, fresh: Callable[[], Store], tmp_path: Path) -> None:
    """Killed during a RUN, while its layer is written, while the layer is ingested: the rebuild
    reclaims the dead build's snapshot and scratch and succeeds; check is clean; busybox is intact."""
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / "f").write_text("f\n")
    s = fresh()
    proc = s.start("build", "-q", "-t", "app:1", str(ctx))
    reached = wait_for(_build_points(s.root)[point], proc)
    landed = kill(proc)
    if point in ("run", "layer"):  # the ingest and commit windows are short: a build may finish first
        assert reached and landed
    if landed and point == "run":
        assert any(n.startswith("snapshots/build-") for n in s.scratch())
    s.ok("build", "-q", "-t", "app:1", str(ctx))
    assert_recovered(s)
    assert s.ok("run", "--rm", "--network", "none", "app:1", "cat", "/kept", "/f") == "kept\nf\n"


def test_dead_build_scratch_is_reported_and_builder_prune_reclaims_it(fresh: Callable[[], Store],
                                                                      tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / "f").write_text("f\n")
    s = fresh()
    proc = s.start("build", "-t", "app:1", str(ctx))
    assert wait_for(_build_points(s.root)["run"], proc) and kill(proc)
    out = s.md("system", "check").stdout
    assert "snapshot leftover build-p" in out and "MB]" in out, out
    df = s.ok("system", "df").splitlines()
    cache = next(line.split() for line in df if line.startswith("Build Cache"))
    assert cache[-2].endswith("MB"), df  # RECLAIMABLE holds the dead build's bytes
    s.ok("builder", "prune", "-f")
    assert s.scratch() == []
    assert_recovered(s)


# ---- damaged files ------------------------------------------------------------------------------
def test_damaged_index_state_file_and_blob(fault_image: im.Image, fresh: Callable[[], Store]) -> None:
    """images.json garbage, a container's state.json garbage, a layer blob corrupt: every command still
    works, check reports all three, --repair brings the store back (busybox runs, the other image
    needs only a re-pull), and nothing else is lost."""
    s = fresh()
    s.ok("pull", IMAGE)
    s.ok("tag", "busybox", "mine:1")
    cid = s.ok("create", "--network", "none", "busybox", "true").strip()
    (s.root / "images.json").write_bytes(b'{"version": 2, "images": {"docker.io/lib\x00')
    (s.root / "containers" / cid / "state.json").write_bytes(b"\x00garbage")
    blob = s.root / "blobs" / "sha256" / fault_image.layers[2]["digest"].split(":")[1]
    os.chmod(blob, 0o644)
    blob.write_bytes(b"not the layer")
    r = s.md("system", "check")
    assert r.returncode == 1
    for what in ("images.json: damaged", "content on disk hashes to", f"container {cid[:12]}: state.json unreadable"):
        assert what in r.stdout, r.stdout
    rows = [json.loads(line) for line in s.ok("images", "--format", "json").splitlines()]
    assert sorted(f"{r['Repository']}:{r['Tag']}" for r in rows) == ["busybox:latest", f"{IMAGE}:latest", "mine:1"]
    r = s.md("system", "check", "--repair")
    assert r.returncode == 1 and "missing (pull the image again)" in r.stdout, r.stdout
    assert cid[:12] not in s.ok("ps", "-a")
    assert s.ok("run", "--rm", "--network", "none", "mine:1", "echo", "ok") == "ok\n"
    s.ok("pull", IMAGE)
    assert_recovered(s)
    assert json.loads((s.root / "images.json").read_text())["version"] == 2
