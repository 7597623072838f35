"""`minidock version` and `minidock info` as subprocesses (info on a busybox store with containers)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from tests.fixtures import cli

md = partial(cli.md, timeout=30)


def test_version_text_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINIDOCK_ROOT", str(tmp_path / "root"))
    r = md("version")
    assert r.returncode == 0 and r.stdout.startswith("Client: minidock\n")
    for key in ("Version:", "Python version:", "OS/Arch:", "Kernel Version:", "Cgroup Version:"):
        assert f"\n {key}" in r.stdout
    data = json.loads(md("version", "--format", "json").stdout)["Client"]
    assert data["PythonVersion"] == ".".join(map(str, sys.version_info[:3]))
    assert data["CgroupVersion"] in ("1", "2")
    assert not (tmp_path / "root").exists()  # version never opens the store
    assert md("version", "--format", "{{.Client.Version}} {{.Server.ApiVersion}}").stdout == "0.1.0 1.41\n"
    r = md("version", "--format", "{{.Client")
    assert (r.returncode, r.stderr) == (64, "template parsing error: template: version:1: unclosed action\n")


@pytest.mark.root
def test_info_counts_containers_and_images(busybox_store: Callable[[], Path]) -> None:
    root = busybox_store()
    md("create", "--name", "made", "busybox", "true")
    assert md("run", "--name", "done", "busybox", "true").returncode == 0
    cid = md("run", "-d", "--name", "up", "busybox", "sleep", "30").stdout.strip()
    try:
        data = json.loads(md("info", "--format", "json").stdout)
        text = md("info").stdout
    finally:
        md("rm", "-f", "made", "done", cid)
    assert (data["Containers"], data["ContainersRunning"], data["ContainersStopped"]) == (3, 1, 2)
    assert data["Images"] == 1  # busybox:latest and busybox:1.38.0-glibc are one image
    assert data["DockerRootDir"] == str(root.resolve()) and data["Driver"] == "overlay"
    assert "127.0.0.0/8" in data["RegistryConfig"]["InsecureRegistries"]
    for line in (" Containers: 3", "  Running: 1", " Storage Driver: overlay", " Cgroup Driver: cgroupfs",
                 f" minidock Root Dir: {root.resolve()}", " Insecure Registries:"):
        assert line + "\n" in text
