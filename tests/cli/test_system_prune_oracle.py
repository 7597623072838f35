"""`system prune --volumes --filter` against Docker 20.10: its question, what each kind loses, its errors.

Every object this test makes carries a label of its own and every prune here is filtered by it, so the
session's shared dockerd loses nothing of other tests' (but its dangling build cache, which Docker's
system prune takes whatever the filter says, as minidock's does).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.fixtures.oracle import Both, Oracle

pytestmark = [pytest.mark.root, pytest.mark.registry]


@pytest.fixture
def both(oracle: Oracle, tmp_path: Path) -> Both:
    return Both(oracle, tmp_path / "root")


def _sections(out: str) -> dict[str, list[str]]:
    """`Deleted X:` -> its lines (the reclaimed-space line left out)."""
    found: dict[str, list[str]] = {}
    current = ""
    for line in out.splitlines():
        if line.startswith("Deleted "):
            current = line
            found[current] = []
        elif line and current and not line.startswith("Total reclaimed"):
            found[current].append(line)
    return found


def test_system_prune_volumes_and_filters_like_docker(both: Both) -> None:
    mark = f"sp{uuid.uuid4().hex[:8]}"
    names = {kind: (f"{mark}-{kind}-in", f"{mark}-{kind}-out") for kind in ("c", "v", "n")}
    for cli in (both.oracle.docker, both.md):
        for i, label in enumerate((f"{mark}=1", "other=1")):
            assert cli("volume", "create", "--label", label, names["v"][i]).returncode == 0
            assert cli("network", "create", "--label", label, names["n"][i]).returncode == 0
            assert cli("create", "--label", label, "--name", names["c"][i], "busybox", "true").returncode == 0
    try:
        question = ("system", "prune", "--volumes", "--filter", f"label={mark}=1")
        d, m = both.oracle.docker(*question, input="n\n"), both.md(*question, input=b"n\n")
        assert (m.returncode, m.stdout) == (d.returncode, d.stdout) and "filtered with:\n  - label=" in m.stdout
        d, m = both.both(*question, "-f")
        assert d.returncode == m.returncode == 0, (d.stderr, m.stderr)
        ds, ms = _sections(d.stdout), _sections(m.stdout)
        assert ds["Deleted Networks:"] == ms["Deleted Networks:"] == [names["n"][0]]
        assert ds["Deleted Volumes:"] == ms["Deleted Volumes:"] == [names["v"][0]]
        assert len(ds["Deleted Containers:"]) == len(ms["Deleted Containers:"]) == 1
        survivors = {("volume", "ls", "-q"): names["v"][1], ("network", "ls", "--format", "{{.Name}}"):
                     names["n"][1], ("ps", "-a", "--format", "{{.Names}}"): names["c"][1]}
        for listing, kept in survivors.items():  # the unlabelled ones, the same under both
            assert both.same(*listing, "--filter", f"name={mark}").split() == [kept]
        for bad in (("--volumes", "--filter", "until=1h"), ("--filter", "colour=red")):
            d, m = both.both("system", "prune", "-f", *bad)
            assert (m.returncode, m.stderr) == (d.returncode, d.stderr), bad
    finally:
        for cli in (both.oracle.docker, both.md):
            cli("rm", "-f", *names["c"])
            cli("network", "rm", *names["n"])
            cli("volume", "rm", *names["v"])
