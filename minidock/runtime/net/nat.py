"""NAT and forwarding with iptables, in minidock's own chains only.

Chains: nat `MINIDOCK-POSTROUTING` (masquerade of each network's subnet leaving by a non-bridge
interface, of loopback-sourced traffic entering a bridge, hairpin masquerade), nat `MINIDOCK-DNAT`
(published ports), filter `MINIDOCK-FORWARD` (accept container traffic even under a DROP policy),
filter `MINIDOCK-INPUT` (drop new connections from a bridge to 127/8), filter
`MINIDOCK-ISOLATION-STAGE-1/2` (Docker's isolation: a network's bridge reaches no other minidock
bridge, the default one included; its own containers and the outside stay reachable). Jumps: nat POSTROUTING ->
MINIDOCK-POSTROUTING, nat PREROUTING and OUTPUT (local destinations, 127/8 included) -> MINIDOCK-DNAT,
filter FORWARD -> MINIDOCK-ISOLATION-STAGE-1 then MINIDOCK-FORWARD, filter INPUT -> MINIDOCK-INPUT
(the filter jumps inserted first, as Docker does). Every rule carries a comment
`minidock:<container id>` or `minidock:net:<bridge>`, so removal deletes exactly our lines (found in
iptables-save output) and never anyone else's.

Published ports on 127.0.0.1 (and on every address) are DNATed in the kernel, as netavark does:
OUTPUT DNAT to the container, `route_localnet=1` on the bridge so a 127.0.0.1-sourced packet may be
routed out of it, and a masquerade of 127.0.0.0/8 -> bridge so the container answers the gateway.
The MINIDOCK-INPUT drop keeps route_localnet from opening the host's loopback services to
containers (the CVE-2020-8558 lesson). The userland proxy still holds each host port (and serves
IPv6 host addresses), as docker-proxy does next to Docker's DNAT.

Rules are computed by pure functions (text in, text out) and applied with one `iptables-save` and
one `iptables-restore --noflush` per operation, under an flock so concurrent runs do not add a
jump twice. Lifecycle: `setup_network` when a network's bridge is ensured (idempotent; once done
for a bridge ifindex, a marker under /run/minidock/ (tmpfs: it goes with the rules at reboot) makes
the next containers skip iptables entirely), `add_port_rules` after attach,
`remove_rules(container_id)` at detach, `remove_network_rules` and `teardown_all` when the last
network is gone. Known limit: a host firewall reload that flushes our rules is not noticed until
the bridge is recreated (Docker has the same blind spot).
"""

from __future__ import annotations

import os

from minidock.errors import RuntimeSetupError
from minidock.nouns import NamedTuple
from minidock.runtime.net.ipam import locked
from minidock.runtime.syscalls import read_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from minidock.runtime.net.portmap import PortMapping

POSTROUTING = "MINIDOCK-POSTROUTING"
DNAT = "MINIDOCK-DNAT"
FORWARD = "MINIDOCK-FORWARD"
INPUT = "MINIDOCK-INPUT"
ISOLATION_1 = "MINIDOCK-ISOLATION-STAGE-1"
ISOLATION_2 = "MINIDOCK-ISOLATION-STAGE-2"
CHAINS = {"nat": (POSTROUTING, DNAT), "filter": (FORWARD, INPUT, ISOLATION_1, ISOLATION_2)}
JUMPS: tuple[tuple[str, str, str], ...] = (
    ("nat", "POSTROUTING", f"-j {POSTROUTING}"),
    ("nat", "PREROUTING", f"-m addrtype --dst-type LOCAL -j {DNAT}"),
    ("nat", "OUTPUT", f"-m addrtype --dst-type LOCAL -j {DNAT}"),
    ("filter", "FORWARD", f"-j {FORWARD}"),
    ("filter", "INPUT", f"-j {INPUT}"),
    ("filter", "FORWARD", f"-j {ISOLATION_1}"),  # inserted after (so before) MINIDOCK-FORWARD, as Docker's
)
IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"
RUN_DIR = "/run/minidock"
LOCK = f"{RUN_DIR}/iptables.lock"
RULES_VERSION = "3"  # bump when network_rules/JUMPS change: markers of older setups stop counting


class Rule(NamedTuple):
    """One rule to append: table, chain and the iptables match/target arguments."""

    table: str
    chain: str
    args: str
    owner: str = ""


def tag(owner: str) -> str:
    """The comment that marks a rule as ours: `minidock:<container id>` or `minidock:net:<bridge>`."""
    return f"minidock:{owner}"


def _tagged(table: str, chain: str, args: str, owner: str) -> Rule:
    return Rule(table, chain, f"{args} -m comment --comment {tag(owner)}", owner)


# ---- pure: which rules -----------------------------------------------------------------------

def network_rules(bridge: str, subnet: str, policy: tuple[str, ...] = ()) -> list[Rule]:
    """Masquerade the subnet out of non-bridge interfaces; let bridge traffic through FORWARD. `policy`
    (NetworkConfig.policy): `internal`: Docker's isolation of an --internal network (nothing leaves or
    enters the subnet, no masquerade); `no-masquerade`; `no-icc`: no bridge-to-bridge traffic."""
    owner, internal = f"net:{bridge}", "internal" in policy
    rules = [] if internal or "no-masquerade" in policy else [
        _tagged("nat", POSTROUTING, f"-s {subnet} ! -o {bridge} -j MASQUERADE", owner)]
    rules += [_tagged("filter", ISOLATION_1, f"! -s {subnet} -o {bridge} -j DROP", owner),
              _tagged("filter", ISOLATION_1, f"-i {bridge} ! -d {subnet} -j DROP", owner)] if internal else []
    rules += [_tagged("filter", FORWARD, f"-i {bridge} -o {bridge} -j DROP", owner)] if "no-icc" in policy else []
    return [  # isolation (Docker's STAGE-1/2): what leaves this bridge for another minidock bridge is dropped
        *rules, _tagged("nat", POSTROUTING, f"-s 127.0.0.0/8 -o {bridge} -j MASQUERADE", owner),
        _tagged("filter", ISOLATION_1, f"-i {bridge} ! -o {bridge} -j {ISOLATION_2}", owner),
        _tagged("filter", ISOLATION_2, f"-o {bridge} -j DROP", owner),
        _tagged("filter", FORWARD, f"-o {bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", owner),
        _tagged("filter", FORWARD, f"-i {bridge} -j ACCEPT", owner),
        _tagged("filter", INPUT, f"-i {bridge} -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED "
                "-j DROP", owner)]


def port_rules(container_id: str, bridge: str, container_ip: str, mappings: Iterable[PortMapping]) -> list[Rule]:
    """DNAT, hairpin masquerade and FORWARD accept for each published IPv4 port.

    A 127.x port gets its DNAT rule only: its packets come from this host (OUTPUT, never FORWARD)
    and no container can reach the host's loopback (fewer rules: deleting one costs the nft backend
    ~15 ms a table at release).
    """
    rules = []
    for m in mappings:
        if ":" in m.host_ip:
            continue  # IPv6 is not NATed: the userland proxy serves it
        dest = f"-d {m.host_ip}/32 " if m.host_ip and m.host_ip != "0.0.0.0" else ""
        p = f"-p {m.proto} -m {m.proto}"
        rules.append(_tagged("nat", DNAT, f"{dest}! -i {bridge} {p} --dport {m.host_port} -j DNAT "
                             f"--to-destination {container_ip}:{m.container_port}", container_id))
        if m.host_ip.startswith("127."):
            continue
        rules += [
            _tagged("nat", POSTROUTING, f"-s {container_ip}/32 -d {container_ip}/32 {p} --dport {m.container_port} "
                    "-j MASQUERADE", container_id),
            _tagged("filter", FORWARD, f"-d {container_ip}/32 ! -i {bridge} -o {bridge} {p} "
                    f"--dport {m.container_port} -j ACCEPT", container_id),
        ]
    return rules


def parse_save(text: str) -> dict[str, list[str]]:
    """table -> its lines (chain declarations `:X` and rules `-A ...`) of iptables-save output."""
    tables: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("*"):
            current = tables.setdefault(line[1:].strip(), [])
        elif line == "COMMIT":
            current = None
        elif current is not None and line[:1] in (":", "-"):
            current.append(line)
    return tables


def _norm(args: str) -> tuple[str, ...]:
    """A rule's tokens without quotes, sorted: equal for our text and iptables-save's reordering of it."""
    return tuple(sorted(args.replace('"', "").split()))


def _has_tag(line: str, owner: str) -> bool:
    import re  # lazy: only removals that search iptables-save output (re costs `run` ~2.5 ms)

    return re.search(rf'--comment "?{re.escape(tag(owner))}"?(\s|$)', line) is not None


def _restore(sections: dict[str, list[str]]) -> str:
    return "".join(f"*{t}\n" + "".join(f"{ln}\n" for ln in lines) + "COMMIT\n"
                   for t, lines in sections.items() if lines)


def plan_setup(save: str, rules: Iterable[Rule]) -> str:
    """iptables-restore --noflush input adding what is missing: our chains, the jumps, `rules`.

    A rule counts as present when a line of its chain has the same tokens (iptables-save reorders
    the comment match), a jump when its builtin chain has exactly that line; an older jump of ours
    with other matches (a previous RULES_VERSION) is deleted.
    """
    tables = parse_save(save)
    out: dict[str, list[str]] = {}
    for table, chains in CHAINS.items():
        lines = tables.get(table, [])
        out[table] = [f":{c} - [0:0]" for c in chains if not any(ln.startswith(f":{c} ") for ln in lines)]
    moved = False  # a filter FORWARD jump was (re)inserted: the isolation jump must go in front again
    for table, chain, args in JUMPS:
        want, target = f"-A {chain} {args}", args.rsplit(" ", 1)[-1]
        lines = tables.get(table, [])
        ours = [ln for ln in lines if ln.startswith(f"-A {chain} ") and ln.endswith(f"-j {target}")]
        out[table] += ["-D" + ln[2:] for ln in ours if ln != want]
        first = next((ln for ln in lines if ln.startswith(f"-A {chain} ")), None)
        if want in ours and target == ISOLATION_1 and (moved or first != want):  # why: isolation goes first
            out[table].append("-D" + want[2:])
            ours = []
        if want not in ours:  # filter jumps go first: a host's own REJECT/ACCEPT rules must not shadow ours
            out[table].append(f"-I {chain} 1 {args}" if table == "filter" else want)
            moved = moved or chain == "FORWARD"
    for r in rules:
        key = _norm(f"-A {r.chain} {r.args}")
        if not any(_norm(ln) == key for ln in tables.get(r.table, [])):
            out.setdefault(r.table, []).append(f"-A {r.chain} {r.args}")
    if not any(ln.startswith(("-A", "-D", "-I")) for lines in out.values() for ln in lines):
        return ""
    return _restore(out)


def plan_remove(save: str, owner: str) -> str:
    """iptables-restore --noflush input deleting every rule tagged `minidock:<owner>` (nothing else)."""
    out = {t: ["-D" + ln[2:] for ln in lines if ln.startswith("-A ") and _has_tag(ln, owner)]
           for t, lines in parse_save(save).items()}
    return _restore(out)


def plan_teardown(save: str) -> str:
    """Input removing our jumps and chains, or "" while any minidock-tagged rule remains."""
    tables = parse_save(save)
    if any("minidock:" in ln for lines in tables.values() for ln in lines):
        return ""
    out: dict[str, list[str]] = {}
    for table, chain, args in JUMPS:
        target = args.rsplit(" ", 1)[-1]
        out.setdefault(table, []).extend("-D" + ln[2:] for ln in tables.get(table, [])
                                         if ln.startswith(f"-A {chain} ") and ln.endswith(f"-j {target}"))
    for table, chains in CHAINS.items():
        have = tables.get(table, [])
        for c in chains:
            if any(ln.startswith(f":{c} ") for ln in have):
                out.setdefault(table, []).extend([f"-F {c}", f"-X {c}"])
    return _restore(out)


# ---- edges: the kernel and iptables ----------------------------------------------------------

def _run(argv: list[str], stdin: str | None = None) -> str:
    import subprocess  # why here: a container without published ports never gets this far

    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    except OSError as e:
        raise RuntimeSetupError(f"network: {argv[0]}: {e.strerror}", stage="network") from e
    if done.returncode != 0:
        msg = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
        raise RuntimeSetupError(f"network: {' '.join(argv[:2])}: {msg}", stage="network")
    return done.stdout


def _save() -> str:
    return _run(["iptables-save"])  # every table in one run; parse_save keeps them apart


def _apply(restore: str) -> None:
    if restore:
        _run(["iptables-restore", "-w", "--noflush"], restore)


def _read(path: str) -> str:
    """A small file's text by raw reads (every bridge run reads two of them)."""
    return read_file(path).decode()


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _set_knob(path: str) -> None:
    """Write 1 to a /proc/sys file unless it holds 1 already."""
    try:
        if _read(path).strip() != "1":
            _write(path, "1\n")
    except OSError as e:
        raise RuntimeSetupError(f"network: enable {path}: {e.strerror}", stage="network") from e


def ensure_forwarding() -> None:
    """Turn on IPv4 forwarding (`sysctl net.ipv4.ip_forward=1`) unless it is on."""
    _set_knob(IP_FORWARD)


def _marker(bridge: str, subnet: str) -> str:
    return f"{RUN_DIR}/net-{bridge}-{subnet.replace('/', '_')}"


def _marker_text(bridge_index: int) -> str:
    return f"{RULES_VERSION} {bridge_index}\n"


def setup_network(bridge: str, subnet: str, bridge_index: int = 0, policy: tuple[str, ...] = ()) -> None:
    """Forwarding on, our chains and jumps present, the network's masquerade/forward rules; idempotent.

    With `bridge_index` (the bridge's ifindex), a marker written after a successful setup for that
    very bridge lets the next call return without running iptables at all.
    """
    ensure_forwarding()
    if bridge_index and is_set_up(bridge, subnet, bridge_index):
        return
    with locked(LOCK):
        _apply(plan_setup(_save(), network_rules(bridge, subnet, policy)))
        if bridge_index:
            marker = _marker(bridge, subnet)
            head, name = os.path.split(marker)
            tmp = f"{head}/.{name}.{os.getpid()}"
            _write(tmp, _marker_text(bridge_index))
            os.replace(tmp, marker)


def is_set_up(bridge: str, subnet: str, bridge_index: int) -> bool:
    """Whether setup_network succeeded for this bridge (this very ifindex) and subnet since boot."""
    try:
        return _read(_marker(bridge, subnet)) == _marker_text(bridge_index)
    except OSError:
        return False


def _forget_markers(bridge: str | None) -> None:
    prefix = f"net-{bridge}-" if bridge else "net-"
    try:
        names = os.listdir(RUN_DIR)
    except OSError:  # no markers yet
        return
    for name in names:
        if name.startswith(prefix):
            try:  # noqa: SIM105 - not contextlib.suppress: no contextlib on `run`
                os.unlink(f"{RUN_DIR}/{name}")
            except FileNotFoundError:
                pass


def route_localnet(bridge: str) -> None:
    """`sysctl net.ipv4.conf.<bridge>.route_localnet=1`: DNATed 127.x traffic may leave by the bridge."""
    _set_knob(f"/proc/sys/net/ipv4/conf/{bridge}/route_localnet")


def add_port_rules(container_id: str, bridge: str, container_ip: str, mappings: Iterable[PortMapping]) -> None:
    """DNAT the container's published ports (replacing rules it had before)."""
    rules = port_rules(container_id, bridge, container_ip, mappings)
    if not rules:
        return
    route_localnet(bridge)
    added = _restore(_by_table(rules, "-A"))
    marker = f"{RUN_DIR}/ports-{container_id}"
    with locked(LOCK):
        if not os.path.exists(marker) and _try_apply(added):  # why: no rules of it can be left; chains exist
            _write(marker, added)
            return
        save = _save()
        stale = plan_remove(save, container_id)
        if stale:
            _apply(stale)
            save = _save()
        _apply(plan_setup(save, rules))
        _write(marker, added)


def remove_rules(container_id: str) -> None:
    """Delete every rule tagged `minidock:<container_id>`.

    The rules add_port_rules recorded are deleted by their exact text in one iptables-restore; a
    ruleset that changed under us (or no record) falls back to finding the tag in iptables-save.
    """
    marker = f"{RUN_DIR}/ports-{container_id}"
    with locked(LOCK):
        try:
            added = _read(marker)
        except OSError:
            added = ""
        deleted = bool(added) and _try_apply("\n".join(  # each line's -A becomes -D (re.sub's ^ with re.M)
            "-D " + ln[3:] if ln.startswith("-A ") else ln for ln in added.split("\n")))
        if not deleted:
            _apply(plan_remove(_save(), container_id))
        try:  # noqa: SIM105 - not contextlib.suppress: no contextlib on `run`
            os.unlink(marker)
        except FileNotFoundError:
            pass


def _by_table(rules: Iterable[Rule], op: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in rules:
        out.setdefault(r.table, []).append(f"{op} {r.chain} {r.args}")
    return out


def _try_apply(restore: str) -> bool:
    """Apply `restore` (each table commits at once; the fallbacks clean up a half); False when refused."""
    try:
        _apply(restore)
    except RuntimeSetupError:
        return False
    return True


def remove_network_rules(bridge: str) -> None:
    """Delete the network's masquerade and forward rules."""
    with locked(LOCK):
        _forget_markers(bridge)
        _apply(plan_remove(_save(), f"net:{bridge}"))


def teardown_all() -> bool:
    """Remove our jumps and chains when no minidock rule is left; False (nothing done) otherwise."""
    with locked(LOCK):
        save = _save()
        restore = plan_teardown(save)
        if restore:
            _forget_markers(None)
        _apply(restore)
        return bool(restore) or not any(c in save for cs in CHAINS.values() for c in cs)
