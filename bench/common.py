"""Shared pieces of the benchmarks: peers' private configs, a local registry, timing and tables.

Benchmarks compare minidock with its peers side by side in one run, on the same file system,
and print medians and ratios. They are not part of the pass/fail suite.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MINIDOCK = str(ROOT / ".venv" / "bin" / "minidock")
_LAYOUT: list[Any] = []


def busybox_layout() -> Any:
    """The tests' busybox image (from Debian's busybox-static) as an OCI layout in a temp dir, made once."""
    if not _LAYOUT:
        from tests.fixtures.busybox import busybox_image, write_layout

        work = Path(tempfile.mkdtemp(prefix="bench-busybox-"))
        atexit.register(shutil.rmtree, work, True)
        _LAYOUT.append(write_layout(busybox_image(), work / "oci-layout"))
    return _LAYOUT[0]


def podman_env(work: Path) -> dict[str, str]:
    """Private podman/buildah configuration for this host (cgroupfs, file events, runc, rlimits <= hard)."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "containers.conf").write_text(
        '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
        f'[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nruntime = "runc"\ntmp_dir = "{work}/tmp"\n')
    (work / "storage.conf").write_text(
        f'[storage]\ndriver = "overlay"\nrunroot = "{work}/run"\ngraphroot = "{work}/graph"\n')
    (work / "registries.conf").write_text("unqualified-search-registries = []\n")
    (work / "policy.json").write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
    env = dict(os.environ)
    env.update(CONTAINERS_CONF=str(work / "containers.conf"), CONTAINERS_STORAGE_CONF=str(work / "storage.conf"),
               CONTAINERS_REGISTRIES_CONF=str(work / "registries.conf"),
               CONTAINERS_POLICY_JSON=str(work / "policy.json"))
    return env


def podman_reset(env: dict[str, str]) -> None:
    subprocess.run(["podman", "system", "reset", "-f"], env=env, capture_output=True, check=False)


@contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    """A scratch directory on the root file system (the same one /var/lib/minidock would use)."""
    d = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    try:
        yield d
    finally:
        unmount_under(d)
        shutil.rmtree(d, ignore_errors=True)


def unmount_under(d: Path) -> None:
    """Unmount everything mounted at or below `d`, deepest first (podman leaves its graph's overlay
    directory bind-mounted when a bench stops half-way; `umount -R d` only works when d is a mount)."""
    prefix = str(d.resolve())
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4].replace("\\040", " ") for line in f]
    for point in sorted((p for p in points if p == prefix or p.startswith(prefix + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


@contextmanager
def registry(work: Path) -> Iterator[str]:
    """A docker-registry on 127.0.0.1 (host:port), stopped by PID afterwards."""
    from tests.fixtures.registry import start_registry

    server = start_registry(work, work / "registry-data")
    try:
        yield server.host
    finally:
        server.stop()


def run(cmd: list[str], env: dict[str, str] | None = None, **kw: object) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload]
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr[-2000:]}")
    return res


def median_seconds(fn: Callable[[], object], runs: int, warmup: int = 1) -> float:
    """Median wall time of `fn` over `runs` calls after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def hyperfine(commands: dict[str, str], runs: int, env: dict[str, str] | None = None,
              warmup: int = 3) -> dict[str, float]:
    """Median seconds of each shell-free command line, measured by hyperfine in one session."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        argv = ["hyperfine", "-N", "--style", "none", "--warmup", str(warmup), "--runs", str(runs),
                "--export-json", out.name]
        for name, cmd in commands.items():
            argv += ["-n", name, cmd]
        run(argv, env)
        data = json.loads(Path(out.name).read_text())
    return {r["command"]: float(r["median"]) for r in data["results"]}


def interleaved(commands: dict[str, list[str]], runs: int, env: dict[str, str] | None = None,
                warmup: int = 3) -> dict[str, list[float]]:
    """Wall seconds of each command over `runs` rounds, one run of every command per round (the order
    rotating), after `warmup` untimed rounds: load that comes and goes hits every command alike."""
    names = list(commands)
    times: dict[str, list[float]] = {n: [] for n in names}
    for i in range(warmup + runs):
        k = i % len(names)
        for name in names[k:] + names[:k]:
            t0 = time.perf_counter()
            res = subprocess.run(commands[name], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, check=False)
            elapsed = time.perf_counter() - t0
            if res.returncode != 0:
                raise SystemExit(f"{name} failed ({res.returncode}): {res.stderr.decode(errors='replace')[-2000:]}")
            if i >= warmup:
                times[name].append(elapsed)
    return times


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    """What the numbers ran on: CPUs, CPU model, kernel, load average now."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "?")
    return f"{os.cpu_count()} CPUs ({model}), Linux {os.uname().release}, load average {loadavg()}"


def table(title: str, rows: list[tuple[str, float]], base: str, unit: str = "ms") -> None:
    """Print medians and each row's ratio to `base` (minidock / peer)."""
    scale = 1000.0 if unit == "ms" else 1.0
    values = dict(rows)
    print(f"\n{title}")
    print(f"{'tool':<40} {'median':>12} {'minidock/this':>14}")
    for name, v in rows:
        ratio = values[base] / v if v else float("nan")
        print(f"{name:<40} {v * scale:>10.1f}{unit} {ratio:>14.2f}")
