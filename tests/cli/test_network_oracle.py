"""Docker 20.10 as the judge of `network create/ls/inspect/prune`: options, filters, errors, prompts.

The oracle's dockerd is shared by the whole session (other modules' networks may exist there), so
every listing here is narrowed to this module's networks (names starting `o18`, or its labels) and
every network made here is removed at the end, in both engines, even when a test fails. minidock
creates first: its networks have no bridge (hence no route) until a container joins, while
dockerd's do, and a subnet in use by a route is refused by minidock's `create`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.oracle import Both, Oracle, pull_busybox

pytestmark = pytest.mark.root
TAG = secrets.token_hex(3)
ROW = "{{.Name}}|{{.Driver}}|{{.Scope}}|{{.Labels}}|{{.Label \"x\"}}|{{.Internal}}|{{.IPv6}}"


def _same_rows(nets: Nets, *args: str) -> None:
    """`network ls ... --format ROW` the same in both, but for the order within `.Labels`: docker/cli
    joins a Go map there (a random order each run; minidock's is the keys')."""
    def rows(out: str) -> list[list[str]]:
        return [[",".join(sorted(f.split(","))) if i == 3 else f for i, f in enumerate(line.split("|"))]
                for line in out.splitlines()]
    d, m = nets.both("network", "ls", *args, "--format", ROW)
    assert (m.returncode, rows(m.stdout)) == (d.returncode, rows(d.stdout)), (args, d.stderr, m.stderr)


class Nets(Both):
    """Both engines, and the networks made through them (removed by `close`)."""

    def __init__(self, oracle: Oracle, root: Path) -> None:
        super().__init__(oracle, root)
        self.made: list[str] = []
        self.containers: list[str] = []

    def create(self, name: str, *flags: str) -> None:
        self.made.append(name)
        for engine in (self.md, self.oracle.docker):
            r = engine("network", "create", *flags, name)
            assert r.returncode == 0, (name, flags, r.stderr)

    def close(self) -> None:
        for engine in (self.md, self.oracle.docker):
            if self.containers:
                engine("rm", "-f", *self.containers)
            for n in self.made:
                engine("network", "rm", n)


@pytest.fixture(scope="module")
def nets(oracle: Oracle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nets]:
    n = Nets(oracle, tmp_path_factory.mktemp("md-net-oracle") / "root")
    try:
        pull_busybox(n)
        n.create(f"o18a{TAG}", "--label", "x=1")
        n.create(f"o18b{TAG}", "--label", "y", "--internal")
        n.create(f"o18c{TAG}", "--label", "x=2", "--attachable")
        yield n
    finally:
        n.close()


@pytest.mark.parametrize("filters", [
    (), ("driver=bridge",), ("driver=null",), ("label=x",), ("label=x=1",), ("label=y=",), ("label=x=3",),
    ("type=custom",), ("name=o18a", "name=o18c"), ("name=o18", "label=x=2"), ("id=nothere",), ("scope=local",),
    ("scope=swarm",), ("dangling=false",), ("dangling=1",), ("name=O18",), ("driver=Bridge",)])
def test_ls_filters(nets: Nets, filters: tuple[str, ...]) -> None:
    args = [a for f in filters for a in ("--filter", f)]
    _same_rows(nets, "--filter", f"name={TAG}", *args)


def test_ls_builtin_and_table_columns(nets: Nets) -> None:
    d, m = nets.both("network", "ls", "--filter", "type=builtin", "--format", "{{.Name}} {{.Driver}} {{.Internal}}")
    assert set(d.stdout.splitlines()) <= set(m.stdout.splitlines())  # dockerd here has no bridge network
    nets.same("network", "ls", "-f", f"name={TAG}", "--filter", "label=y", "--format",
              "table {{.Name}}\\t{{.Labels}}\\t{{.Internal}}\\t{{.IPv6}}\\t{{.Scope}}")
    d, m = nets.both("network", "ls", "--filter", f"name=o18a{TAG}", "--format", "{{.CreatedAt}}")
    assert m.stdout.endswith(" +0000 UTC\n") and len(m.stdout.split()) == len(d.stdout.split()) == 4
    d, m = nets.both("network", "ls", "--filter", f"name=o18a{TAG}", "-q")
    assert len(m.stdout) == len(d.stdout) == 13


@pytest.mark.parametrize("filters", [("bad",), ("foo=bar",), ("type=foo",), ("dangling=maybe",), ("label!=x",)])
def test_ls_filter_errors(nets: Nets, filters: tuple[str, ...]) -> None:
    nets.same_error("network", "ls", *(a for f in filters for a in ("--filter", f)))


@pytest.mark.parametrize("args", [
    ("-d", "host"), ("-d", "null"), ("-d", "none"), ("-d", "overlay"), ("-d", "nosuchdriver"),
    ("--ipam-driver", "nosuch"), ("--ipv6",), ("--gateway", "10.241.0.1"), ("--ip-range", "10.241.0.0/24"),
    ("--aux-address", "a=10.241.0.3"), ("--subnet", "10.241.0.0/16", "--gateway", "10.242.0.1"),
    ("--subnet", "10.241.0.0/16", "--ip-range", "10.242.0.0/24"),
    ("--subnet", "10.241.0.0/16", "--aux-address", "a=10.242.0.3"), ("--subnet", "10.241.0.0/16", "--aux-address",
                                                                     "10.241.0.3"),
    ("--subnet", "bad"), ("--subnet", "10.241.0.0/16", "--gateway", "10.241.0.0/24"),
    ("--subnet", "10.241.0.0/16", "--ip-range", "10.241.0.5"),
    ("--subnet", "10.241.0.0/16", "--aux-address", "a=10.241.0.1"),
    ("-o", "com.docker.network.driver.mtu=abc"), ("-o", "com.docker.network.bridge.enable_icc=maybe"),
    ("-o", "com.docker.network.bridge.enable_ip_masquerade=yes")])
def test_create_errors(nets: Nets, args: tuple[str, ...]) -> None:
    name = f"o18bad{TAG}"
    try:
        d, m = nets.both("network", "create", *args, name)
        want = d.stderr if "com.docker." in d.stderr else d.stderr.replace("docker", "minidock")  # option names stay
        assert (m.returncode, m.stderr) == (d.returncode, want)
    finally:
        for engine in (nets.md, nets.oracle.docker):
            engine("network", "rm", name)


def test_create_duplicate_name(nets: Nets) -> None:
    nets.same_error("network", "create", f"o18a{TAG}")


def test_inspect_shows_the_options(nets: Nets) -> None:
    name = f"o18full{TAG}"
    nets.create(name, "--subnet", "10.243.0.0/16", "--ip-range", "10.243.1.0/24", "--gateway", "10.243.1.1",
                "--aux-address", "a=10.243.0.3", "--aux-address", "b=10.243.0.4", "--label", "x=1", "--label", "y",
                "--internal", "--attachable", "-o", "com.docker.network.driver.mtu=1400", "-o", "foo=bar")
    fields = ("{{json .IPAM}}|{{.Internal}}|{{.Attachable}}|{{json .Options}}|{{json .Labels}}|{{.Driver}}|"
              "{{.Scope}}|{{.EnableIPv6}}|{{.Ingress}}|{{json .ConfigFrom}}|{{.ConfigOnly}}|{{json .Containers}}")
    nets.same("network", "inspect", "-f", fields, name)
    plain = f"o18plain{TAG}"
    nets.create(plain, "--subnet", "10.244.0.0/24")
    nets.same("network", "inspect", "-f", fields, plain)
    _same_rows(nets, "--filter", f"name={name}")


def test_prune_prompt_filters_and_output(nets: Nets) -> None:
    label = f"o18p{TAG}"
    nets.same_error("network", "prune", "-f", "--filter", "foo=bar")
    nets.same_error("network", "prune", "-f", "--filter", "until=bad")
    d, m = nets.oracle.docker("network", "prune", input="n\n"), nets.md("network", "prune", input=b"n\n")
    assert (m.returncode, m.stdout) == (d.returncode, d.stdout)
    assert m.stdout.startswith("WARNING! This will remove all custom networks not used by at least one container.")
    for n in ("o18p1", "o18p2"):
        nets.create(f"{n}{TAG}", "--label", f"{label}=1")
    nets.same("network", "prune", "-f", "--filter", f"label={label}=2")  # nothing: no output at all
    nets.same("network", "prune", "-f", "--filter", f"label={label}", "--filter", "until=1h")  # too young
    nets.same("network", "prune", "-f", "--filter", f"label={label}", "--filter", f"label!={label}=1")
    d, m = nets.both("network", "prune", "-f", "--filter", f"label={label}")
    assert m.returncode == d.returncode == 0
    assert m.stdout.splitlines()[0] == d.stdout.splitlines()[0] == "Deleted Networks:"
    assert sorted(m.stdout.splitlines()) == sorted(d.stdout.splitlines())
    assert m.stdout.endswith("\n\n") and d.stdout.endswith("\n\n")
    _same_rows(nets, "--filter", f"label={label}")


def test_prune_and_dangling_with_containers(nets: Nets) -> None:
    """A running container keeps its network from prune; a stopped one does not (Docker 20.10 prunes
    the network of a stopped container). `ls --filter dangling=` looks at no container in 20.10."""
    label = f"o18u{TAG}"
    used, stopped = f"o18used{TAG}", f"o18stopped{TAG}"
    nets.create(used, "--label", label)
    nets.create(stopped, "--label", label)
    nets.containers += [f"o18run{TAG}", f"o18exit{TAG}"]
    for engine in (nets.md, nets.oracle.docker):
        assert engine("run", "-d", "--name", f"o18run{TAG}", "--network", used, "busybox", "sleep", "300"
                      ).returncode == 0
        assert engine("run", "--name", f"o18exit{TAG}", "--network", stopped, "busybox", "true").returncode == 0
    _same_rows(nets, "--filter", f"label={label}", "--filter", "dangling=false")
    _same_rows(nets, "--filter", f"label={label}", "--filter", "dangling=true")
    nets.same("network", "prune", "-f", "--filter", f"label={label}")
    _same_rows(nets, "--filter", f"label={label}")


def _core(stderr: str) -> str:
    """The message without the engine's prefix, `See ... --help` line and final period."""
    first = stderr.splitlines()[0] if stderr else ""
    for prefix in ("docker: ", "minidock: ", "Error response from daemon: "):
        first = first.removeprefix(prefix)
    return first.rstrip(".")


def test_static_ip_aliases_and_mac(nets: Nets) -> None:
    """--ip, --network-alias, --mac-address and `network connect --ip --alias`: inspect's endpoint and
    the errors (exit codes and words). The engines' networks get different subnets (both have bridges
    on this host), compared with minidock's replaced by Docker's."""
    md_net, d_net, md_two, d_two = "10.245.7", "10.246.7", "10.245.8", "10.246.8"
    name, two, ctr = f"o18ip{TAG}", f"o18ip2{TAG}", f"o18ipc{TAG}"
    nets.made += [name, two]
    nets.containers.append(ctr)
    for engine, first, second in ((nets.md, md_net, md_two), (nets.oracle.docker, d_net, d_two)):
        assert engine("network", "create", "--subnet", f"{first}.0/24", name).returncode == 0
        assert engine("network", "create", "--subnet", f"{second}.0/24", two).returncode == 0
        assert engine("run", "-d", "--name", ctr, "--network", name, "--ip", f"{first}.50", "--network-alias", "web",
                      "--mac-address", "02:42:0a:00:00:99", "busybox", "sleep", "300").returncode == 0
        assert engine("network", "connect", "--ip", f"{second}.60", "--alias", "ca", two, ctr).returncode == 0
    for net in (name, two):
        e = f"{{{{with index .NetworkSettings.Networks \"{net}\"}}}}"
        fmt = (e + "{{json .IPAMConfig}} {{len .Aliases}} {{index .Aliases 0}} {{.IPAddress}} {{.Gateway}} "
               "{{.IPPrefixLen}} {{json .Links}}{{end}} {{.Config.MacAddress}}")
        d, m = nets.both("inspect", "-f", fmt, ctr)
        assert m.stdout.replace(md_net, d_net).replace(md_two, d_two) == d.stdout
    d, m = nets.both("inspect", "-f", f"{{{{(index .NetworkSettings.Networks \"{name}\").MacAddress}}}}", ctr)
    assert m.stdout == d.stdout == "02:42:0a:00:00:99\n"
    for engine, first in ((nets.md, md_net), (nets.oracle.docker, d_net)):  # the cases that differ by subnet
        for ip, words in ((f"{first}.50", "Address already in use"),
                          ("10.247.0.5", "Invalid address 10.247.0.5: It does not belong to any of this network's "
                                         "subnets")):
            r = engine("run", "--rm", "--network", name, "--ip", ip, "busybox", "true")
            assert (r.returncode, _core(r.stderr)) == (125, words), r.stderr
    for args in (("run", "--rm", "--mac-address", "bad", "busybox", "true"),
                 ("create", "--network-alias", "x", "--network", "host", "busybox"),
                 ("network", "connect", "--ip", "10.1.1.1", f"o18a{TAG}", ctr)):
        d, m = nets.both(*args)
        assert (m.returncode, _core(m.stderr)) == (d.returncode, _core(d.stderr)), args
