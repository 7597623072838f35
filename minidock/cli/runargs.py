"""The `run`/`create` flags, parsed with argparse (stdlib) so `minidock run` starts without typer.

`run` is latency-critical (DESIGN.md section 3): main() sends it here before anything heavy is
imported; typer only lists the command in `minidock --help` and hands its arguments over. Plain
command lines are read by cli/quickargs.py (no argparse import: ~8 ms); anything else, `--help` and
every error go to argparse. tests/cli/test_runargs.py checks that both read them the same way.
"""

from __future__ import annotations

from minidock.engine.request import RunRequest

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

_MULTI = (("-e", "--env", "env", "set an environment variable (KEY=VALUE or KEY from the host)"),
          ("--env-file", None, "env_files", "read environment variables from a file"),
          ("-v", "--volume", "volumes", "bind mount or volume [HOST-DIR|NAME:]CONTAINER-DIR[:OPTIONS]"),
          ("--mount", None, "mounts", "attach a mount: type=bind|volume|tmpfs,source=..,target=..[,readonly]"),
          ("--volumes-from", None, "volumes_from", "mount the volumes of a container (NAME[:ro|rw])"),
          ("--tmpfs", None, "tmpfs", "mount a tmpfs at PATH[:OPTIONS]"),
          ("--cap-add", None, "cap_add", "add a capability"),
          ("--cap-drop", None, "cap_drop", "drop a capability"),
          ("--group-add", None, "group_add", "add the process to a group (a name or a gid)"),
          ("--device", None, "devices", "add a host device HOST[:CONTAINER[:PERMS]]"),
          ("--security-opt", None, "security_opt",
           "seccomp=unconfined|PROFILE.json, no-new-privileges[=true], apparmor=.., label=.. (no effect here)"),
          ("-p", "--publish", "publish", "publish a port [IP:]HOST:CONTAINER[/PROTO]"),
          ("--add-host", None, "add_hosts", "add a NAME:IP line to /etc/hosts"),
          ("--dns", None, "dns", "set a DNS server"),
          ("--dns-search", None, "dns_search", "set a DNS search domain ('.': none)"),
          ("--dns-option", None, "dns_options", "set a DNS option (ndots:2, ...)"),
          ("--device-cgroup-rule", None, "device_cgroup_rules", "add a rule to the cgroup's allowed devices list"),
          ("--blkio-weight-device", None, "blkio_weight_device", "block IO weight of a device (DEVICE:WEIGHT)"),
          ("--device-read-bps", None, "device_read_bps", "limit the read rate from a device (DEVICE:RATE, 1mb)"),
          ("--device-write-bps", None, "device_write_bps", "limit the write rate to a device (DEVICE:RATE, 1mb)"),
          ("--device-read-iops", None, "device_read_iops", "limit the read rate from a device (DEVICE:IO-PER-SEC)"),
          ("--device-write-iops", None, "device_write_iops", "limit the write rate to a device (DEVICE:IO-PER-SEC)"),
          ("--log-opt", None, "log_opts", "log driver option (max-size=10m, max-file=3)"),
          ("-l", "--label", "labels", "set metadata on the container (KEY=VALUE)"),
          ("--label-file", None, "label_files", "read labels from a file of KEY=VALUE lines"),
          ("--expose", None, "expose", "expose a port or a range of ports (PORT[/PROTO])"),
          ("--ulimit", None, "ulimits", "ulimit option NAME=SOFT[:HARD] (nofile=1024:2048)"),
          ("--sysctl", None, "sysctls", "set a namespaced kernel parameter KEY=VALUE"),
          ("-a", "--attach", "attach", "attach to STDIN, STDOUT or STDERR"),
          ("--storage-opt", None, "storage_opt", "storage driver option (size= needs xfs with pquota)"),
          ("--link", None, "links", "add a link to another container (NAME[:ALIAS])"),
          ("--network-alias", "--net-alias", "network_aliases", "add a network-scoped alias for the container"))
_VALUE = (("--name", None, "name", "assign a name to the container"),
          ("--platform", None, "platform", "os/arch[/variant] to pull"),
          ("--pull", None, "pull", "pull policy: missing (default), always, never"),
          ("--entrypoint", None, "entrypoint", "override the image's ENTRYPOINT"),
          ("-w", "--workdir", "workdir", "working directory inside the container"),
          ("-u", "--user", "user", "user name or uid[:gid]"),
          ("-h", "--hostname", "hostname", "container host name"),
          ("--domainname", None, "domainname", "container NIS domain name"),
          ("--cgroup-parent", None, "cgroup_parent", "optional parent cgroup for the container"),
          ("-m", "--memory", "memory", "memory limit (e.g. 32m, 1g)"),
          ("--memory-swap", None, "memory_swap", "memory + swap limit (-1: unlimited)"),
          ("--cpus", None, "cpus", "number of CPUs (e.g. 0.5)"),
          ("--cpuset-cpus", None, "cpuset_cpus", "CPUs in which to allow execution (0-3, 0,1)"),
          ("--cpuset-mems", None, "cpuset_mems", "memory nodes in which to allow execution (0-3, 0,1)"),
          ("--memory-reservation", None, "memory_reservation", "memory soft limit"),
          ("--memory-swappiness", None, "memory_swappiness", "tune the container's swappiness (0 to 100)"),
          ("--blkio-weight", None, "blkio_weight", "block IO weight (10 to 1000, or 0 to disable)"),
          ("--network", "--net", "network", "bridge (default), none, host, container:NAME or a network name"),
          ("--ip", None, "ip", "IPv4 address on a user network with a subnet of its own (e.g. 172.30.100.104)"),
          ("--mac-address", None, "mac_address", "container MAC address (e.g. 92:d0:c6:0a:29:33)"),
          ("--pid", None, "pid", "PID namespace: host or container:NAME (default: its own)"),
          ("--ipc", None, "ipc", "IPC mode: private (default), shareable, none, host or container:NAME"),
          ("--uts", None, "uts", "UTS namespace: host (default: its own)"),
          ("--cgroupns", None, "cgroupns", "cgroup namespace: private (default) or host"),
          ("--userns", None, "userns", "user namespace: host (the only one without userns-remap)"),
          ("--restart", None, "restart", "restart policy: no, on-failure[:N], always"),
          ("--cidfile", None, "cidfile", "write the container id to this file"),
          ("--stop-signal", None, "stop_signal", "signal to stop the container (default SIGTERM)"),
          ("--shm-size", None, "shm_size", "size of /dev/shm (default 64m)"),
          ("--log-driver", None, "log_driver", "logging driver: json-file (default), local, none"),
          ("--detach-keys", None, "detach_keys", "override the key sequence for detaching (ctrl-p,ctrl-q)"),
          ("--runtime", None, "runtime", "runtime to use for this container (runc)"),
          ("--isolation", None, "isolation", "container isolation technology (default)"),
          ("--kernel-memory", None, "kernel_memory", "kernel memory limit (deprecated, not applied)"),
          ("--volume-driver", None, "volume_driver", "optional volume driver for the container (local)"),
          ("--gpus", None, "gpus", "GPU devices to add to the container ('all' to pass all GPUs)"),
          ("--health-cmd", None, "health_cmd", "command to run to check health"),
          ("--health-interval", None, "health_interval", "time between running the check (ms|s|m|h)"),
          ("--health-timeout", None, "health_timeout", "maximum time to allow one check to run (ms|s|m|h)"),
          ("--health-start-period", None, "health_start_period",
           "start period before failures count (ms|s|m|h)"))
_BOOLS = (("--sig-proxy", None, "sig_proxy", "proxy received signals to the process (default true)"),
          ("--disable-content-trust", None, "disable_content_trust", "skip image verification (default true)"))
_RUN_ONLY = ("--detach-keys", "--sig-proxy")  # Docker's `create` does not know them
_FLAGS = (("-d", "--detach", "detach", "run in the background and print the container id"),
          ("--rm", None, "rm", "remove the container when it exits"),
          ("-i", "--interactive", "interactive", "keep stdin open"),
          ("-t", "--tty", "tty", "allocate a pseudo-terminal"),
          ("--explain", None, "explain", "print each kernel step with its shell equivalent and time"),
          ("-q", "--quiet", "quiet", "suppress the pull output"),
          ("--read-only", None, "read_only", "mount the root file system read-only"),
          ("--privileged", None, "privileged", "all capabilities, no masked paths"),
          ("--oom-kill-disable", None, "oom_kill_disable", "disable the OOM killer"),
          ("-P", "--publish-all", "publish_all", "publish every EXPOSEd port to a random host port"),
          ("--init", None, "init", "run tini as PID 1 to forward signals and reap zombies"),
          ("--no-healthcheck", None, "no_healthcheck", "disable any container-specified HEALTHCHECK"))


_INTS = (("-c", "--cpu-shares", "cpu_shares", "CPU shares (weight)"),
         ("--pids-limit", None, "pids_limit", "process number limit"),
         ("--cpu-quota", None, "cpu_quota", "limit the CPU CFS (Completely Fair Scheduler) quota"),
         ("--cpu-period", None, "cpu_period", "limit the CPU CFS (Completely Fair Scheduler) period"),
         ("--cpu-rt-period", None, "cpu_rt_period", "limit the CPU real-time period in microseconds"),
         ("--cpu-rt-runtime", None, "cpu_rt_runtime", "limit the CPU real-time runtime in microseconds"),
         ("--oom-score-adj", None, "oom_score_adj", "tune the host's OOM preferences (-1000 to 1000)"),
         ("--health-retries", None, "health_retries", "consecutive failures needed to report unhealthy"),
         ("--stop-timeout", None, "stop_timeout", "seconds to wait before killing the container at stop"))


def parser(command: str) -> argparse.ArgumentParser:
    """The argparse parser of `minidock run` / `minidock create`."""
    import argparse  # lazy: plain command lines never need it (see the docstring)

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:  # type: ignore[override]
            from minidock.cli.usage import from_argparse

            pairs = {w: ", ".join(n for n in (s, long_) if n) for rows in (_FLAGS, _BOOLS, _VALUE, _MULTI, _INTS)
                     for s, long_, *_ in rows for w in (s, long_) if w}
            raise from_argparse(message, self.prog, pairs)

    def _fixed_width(prog: str) -> argparse.HelpFormatter:
        """why: add_argument builds a formatter per flag (to check its metavar); the default one
        asks the terminal for its size each time and imports shutil, for nothing."""
        return argparse.HelpFormatter(prog, width=100)

    p = _Parser(prog=f"minidock {command}", add_help=False, allow_abbrev=False,
                usage=f"minidock {command} [OPTIONS] IMAGE [COMMAND] [ARG...]",
                description="Create and run a new container from an image" if command == "run"
                else "Create a new container", formatter_class=_fixed_width)
    p.add_argument("--help", action="help", help="show this help and exit")
    for short, long_, dest, help_ in _FLAGS:
        p.add_argument(*(n for n in (short, long_) if n), dest=dest, action="store_true", help=help_)
    for word, _, dest, help_ in _BOOLS:
        if command == "run" or word not in _RUN_ONLY:
            _add_bool(p, word, dest, help_)
    for short, long_, dest, help_ in _VALUE:
        if command != "run" and long_ in _RUN_ONLY:
            continue
        p.add_argument(*(n for n in (short, long_) if n), dest=dest, help=help_)
    for short, long_, dest, help_ in _MULTI:
        p.add_argument(*(n for n in (short, long_) if n), dest=dest, action="append", default=[], help=help_)
    for short, long_, dest, help_ in _INTS:
        p.add_argument(*(n for n in (short, long_) if n), dest=dest, type=int,
                       default=None if dest == "stop_timeout" else 0, help=help_)
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="COMMAND")
    p.formatter_class = argparse.HelpFormatter  # --help and usage errors fit the real terminal
    return p


def _add_bool(p: argparse.ArgumentParser, word: str, dest: str, help_: str) -> None:
    """A Go bool flag: `--word` alone, or `--word=VALUE` (strconv.ParseBool's spellings; never the
    next word as its value), each spelling an option string of its own."""
    import argparse

    p.add_argument(word, dest=dest, action="store_const", const=True, help=help_)
    for value, spellings in ((True, ("1", "t", "T", "TRUE", "true", "True")),
                             (False, ("0", "f", "F", "FALSE", "false", "False"))):
        p.add_argument(*(f"{word}={v}" for v in spellings), dest=dest, action="store_const", const=value,
                       help=argparse.SUPPRESS)


def _options() -> dict[str, tuple[str, str]]:
    """Every option word -> (attribute, quickargs kind)."""
    table = ((_FLAGS, "true"), (_BOOLS, "true"), (_VALUE, "store"), (_MULTI, "append"), (_INTS, "int"))
    return {word: (dest, kind) for rows, kind in table for *words, dest, _ in rows for word in words if word}


def _defaults() -> dict[str, Any]:
    out: dict[str, Any] = {dest: False for *_, dest, _ in _FLAGS}
    out.update({dest: None for *_, dest, _ in _VALUE})
    out.update({dest: None for *_, dest, _ in _BOOLS})
    out.update({dest: [] for *_, dest, _ in _MULTI})
    out.update({dest: 0 for *_, dest, _ in _INTS})
    out["stop_timeout"] = None
    out.update(image=None, args=[])
    return out


def _simple(argv: list[str]) -> dict[str, Any] | None:
    """The namespace of a plain command line (see cli/quickargs.py), else None."""
    from minidock.cli.quickargs import read

    return read(argv, _options(), _defaults(), "image", rest="args")


def parse(command: str, argv: list[str]) -> RunRequest:
    """argv after the command name -> RunRequest (UsageError on a bad flag)."""
    ns = _simple(argv)
    if ns is None:
        from minidock.cli.quickargs import parser_options, pflag_joined

        p = parser(command)
        ns = vars(p.parse_args(pflag_joined(argv, parser_options(p))))
    kw = {k: v for k, v in ns.items() if v is not None}
    if command != "run":
        _refuse_run_only(kw, command)
    kw.update(go_typed(kw, command))
    for k in (*(dest for *_, dest, _ in _MULTI), "args"):  # every repeatable flag becomes a tuple
        kw[k] = tuple(kw.get(k, ()))
    return RunRequest(**kw)


def _refuse_run_only(kw: dict[str, Any], command: str) -> None:
    """`create --detach-keys` / `--sig-proxy`: Docker's `unknown flag` (only `run` attaches)."""
    for word in _RUN_ONLY:
        if kw.get(word[2:].replace("-", "_")) is not None:
            from minidock.cli.usage import unknown_flag

            raise unknown_flag(word, f"minidock {command}")


def go_typed(kw: dict[str, Any], command: str) -> dict[str, Any]:
    """The values Docker's client types more narrowly than argparse, checked with its words (`update`
    too): --blkio-weight (uint16), --memory-swappiness (int64, -1..100), --memory-reservation (a size)."""
    out: dict[str, Any] = {}
    if (text := kw.get("blkio_weight")) is not None:
        why = "" if _digits(text) else "invalid syntax"
        if not why and int(text) > 65535:
            why = "value out of range"
        if why:
            raise _flag_error(f'invalid argument "{text}" for "--blkio-weight" flag: strconv.ParseUint: parsing '
                              f'"{text}": {why}', command)
        out["blkio_weight"] = int(text)
    if (text := kw.get("memory_swappiness")) is not None:
        if not _digits(text[1:] if text[:1] in ("+", "-") else text):
            raise _flag_error(f'invalid argument "{text}" for "--memory-swappiness" flag: strconv.ParseInt: '
                              f'parsing "{text}": invalid syntax', command)
        if (value := int(text)) != -1 and not 0 <= value <= 100:
            from minidock.errors import UsageError

            raise UsageError(f"invalid value: {value}. Valid memory swappiness range is 0-100")
        out["memory_swappiness"] = value
    if (text := kw.get("memory_reservation")) and not _is_size(text):
        raise _flag_error(f'invalid argument "{text}" for "--memory-reservation" flag: invalid size: \'{text}\'',
                          command)
    if any(kw.get(a) for a in _DEVICE_FLAGS):
        _check_devices(kw, command)
    if kw.get("dns") or kw.get("dns_search"):
        out.update(_checked_dns(kw, command))
    if kw.get("mac_address") or kw.get("network_aliases"):
        _check_net_flags(kw, command)
    if any(kw.get(f"health_{k}") for k in ("interval", "timeout", "start_period", "retries")):
        from minidock.engine import health  # before the image is looked for, as docker/cli

        health.client_checked(health.HealthFlags(
            interval=kw.get("health_interval") or "", timeout=kw.get("health_timeout") or "",
            start_period=kw.get("health_start_period") or "", retries=kw.get("health_retries") or 0))
    return out


def _check_net_flags(kw: dict[str, Any], command: str) -> None:
    """--mac-address (Go's net.ParseMAC: 6 hex pairs split by ':' or '-') and --network-alias (user
    networks only), with the words and exit code (125) of Docker's client."""
    from minidock.errors import FlagError

    mac = kw.get("mac_address") or ""
    parts = mac.split(mac[2:3] or ":") if mac[2:3] in (":", "-") else []
    if mac and not (len(parts) == 6 and all(len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p)
                                            for p in parts)):
        raise FlagError(f"minidock: {mac} is not a valid mac address.\nSee 'minidock {command} --help'.")
    mode = kw.get("network") or "bridge"
    if kw.get("network_aliases") and (mode in ("bridge", "host", "none", "default") or mode.startswith("container:")):
        raise FlagError(f"minidock: network-scoped aliases are only supported for user-defined networks.\n"
                        f"See 'minidock {command} --help'.")


def _checked_dns(kw: dict[str, Any], command: str) -> dict[str, Any]:
    """--dns and --dns-search as Docker's client checks and keeps them (addresses canonical, a
    search domain's final dot dropped)."""
    from minidock.engine.netwire import check_dns_search, check_dns_server

    out: dict[str, list[str]] = {"dns": [], "dns_search": []}
    for attr, flag, check in (("dns", "--dns", check_dns_server), ("dns_search", "--dns-search", check_dns_search)):
        for text in kw.get(attr) or ():
            try:
                out[attr].append(check(text))
            except ValueError as e:
                raise _flag_error(f'invalid argument "{text}" for "{flag}" flag: {e}', command) from None
    return out


_DEVICE_FLAGS = ("device_cgroup_rules", "blkio_weight_device", "device_read_bps", "device_write_bps",
                 "device_read_iops", "device_write_iops")


def _check_devices(kw: dict[str, Any], command: str) -> None:
    """--device-cgroup-rule and the per-device block I/O flags, checked as Docker's client does."""
    from minidock.engine.devices import check_cgroup_rule
    from minidock.engine.resources import BLKIO, parse_block_device

    for text in kw.get("device_cgroup_rules") or ():
        try:
            check_cgroup_rule(text)
        except ValueError as e:
            raise _flag_error(f'invalid argument "{text}" for "--device-cgroup-rule" flag: {e}', command) from None
    for kind, attr, _ in BLKIO:
        for text in kw.get(attr) or ():
            try:
                parse_block_device(text, kind)
            except ValueError as e:
                flag = "--" + attr.replace("_", "-")
                raise _flag_error(f'invalid argument "{text}" for "{flag}" flag: {e}', command) from None


def _flag_error(text: str, command: str) -> Exception:
    """Docker's two lines for a flag value its client cannot read (usage.py is loaded only for errors)."""
    from minidock.cli.usage import see
    from minidock.errors import FlagError

    return FlagError(f"{text}\n{see(f'minidock {command}')}")


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _is_size(text: str) -> bool:
    from minidock.engine.resources import is_size

    return is_size(text)
