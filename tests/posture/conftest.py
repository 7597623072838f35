"""The posture probe (probe.c), compiled static once per session with the machine's gcc."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PROBE_C = Path(__file__).with_name("probe.c")


@pytest.fixture(scope="session")
def posture_probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The static probe binary (gcc -static: it runs in any image, busybox included)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("gcc is missing: `make deps` installs it (and libc6-dev, for -static)")
    out = tmp_path_factory.mktemp("posture") / "probe"
    r = subprocess.run([gcc, "-static", "-O2", "-Wall", "-Werror", "-o", str(out), str(PROBE_C)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, f"gcc probe.c: {r.stderr}"
    return out
