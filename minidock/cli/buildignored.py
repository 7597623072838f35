"""`build` flags that Docker 20.10 with BuildKit accepts and ignores, checked as its client checks them.

BuildKit gives RUN steps no memory or CPU limits, /dev/shm size, ulimits or cgroup parent from the
command line (they were the classic builder's), treats --compress, --force-rm and --rm as no-ops,
and uses --cache-from only for images that carry inline cache metadata (minidock's builds do not
write any). Docker still parses each value with its client's rules (a bad one exits 125 with its two
lines), refuses --squash (experimental daemons only) and, from its daemon, --security-opt and any
--isolation but `default` (exit 1). Checked against Docker 20.10: tests/cli/test_build_flags_oracle.py.
"""

from __future__ import annotations

from minidock.errors import MinidockError, PlainError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

COMMAND = "minidock build"
# namespace attribute -> (flag words, Docker's name of the flag in its messages, kind)
VALUES = {
    "memory": (("-m", "--memory"), "-m, --memory", "size"),
    "memory_swap": (("--memory-swap",), "--memory-swap", "swap"),
    "shm_size": (("--shm-size",), "--shm-size", "size"),
    "cpu_shares": (("-c", "--cpu-shares"), "-c, --cpu-shares", "int"),
    "cpu_quota": (("--cpu-quota",), "--cpu-quota", "int"),
    "cpu_period": (("--cpu-period",), "--cpu-period", "int"),
    "cpuset_cpus": (("--cpuset-cpus",), "--cpuset-cpus", "text"),
    "cpuset_mems": (("--cpuset-mems",), "--cpuset-mems", "text"),
    "cgroup_parent": (("--cgroup-parent",), "--cgroup-parent", "text"),
    "isolation": (("--isolation",), "--isolation", "text"),
}
LISTS = {"ulimit": "--ulimit", "cache_from": "--cache-from", "security_opt": "--security-opt"}
SWITCHES = ("--compress", "--force-rm", "--rm", "--squash", "--disable-content-trust")
# Go's strconv.ParseBool, which `--flag=VALUE` of a boolean flag goes through
_TRUE, _FALSE = ("1", "t", "T", "TRUE", "true", "True"), ("0", "f", "F", "FALSE", "false", "False")


def add_flags(p: argparse.ArgumentParser) -> None:
    """The accepted-and-ignored flags, on the build parser."""
    for dest, (words, _, _) in VALUES.items():
        p.add_argument(*words, dest=dest, default="", help="accepted and ignored, as by BuildKit")
    for dest, word in LISTS.items():
        p.add_argument(word, dest=dest, action="append", default=[], help="accepted and ignored, as by BuildKit"
                       if dest != "security_opt" else "refused, as by Docker's daemon")
    for word in SWITCHES:
        p.add_argument(word, action="store_true", help="refused: needs an experimental Docker daemon"
                       if word == "--squash" else "accepted and ignored, as by BuildKit")


def switch_values(argv: list[str], switches: tuple[str, ...]) -> list[str]:
    """`--rm=false` and the like (Go's boolean flags take `=VALUE`): true -> the switch, false -> nothing.

    `--squash=false` stays `--squash`: Docker refuses the flag whatever its value."""
    out: list[str] = []
    for word in argv:
        name, eq, value = word.partition("=")
        if not eq or name not in (*switches, *SWITCHES) or word.startswith("--build-arg"):
            out.append(word)
        elif value in _TRUE or (name == "--squash" and value in _FALSE):
            out.append(name)
        elif value not in _FALSE:
            raise _flag_error(f'invalid argument "{value}" for "{name}" flag: strconv.ParseBool: parsing "{value}": '
                              "invalid syntax")
    return out


def check(ns: dict[str, Any]) -> None:
    """Docker's checks of those flags, in its order: its client's parsing, --squash, then its daemon's."""
    for dest, (_, flag, kind) in VALUES.items():
        _check_value(str(ns.get(dest) or ""), flag, kind)
    for text in ns.get("ulimit") or ():
        _check_ulimit(text)
    if ns.get("squash"):
        raise PlainError('"--squash" is only supported on a Docker daemon with experimental features enabled')
    if ns.get("security_opt"):
        raise MinidockError("The daemon on this platform does not support setting security options on build")
    if (isolation := ns.get("isolation") or "") not in ("", "default"):
        raise MinidockError(f'Unsupported isolation: "{isolation}"')


def _check_value(text: str, flag: str, kind: str) -> None:
    if not text or kind == "text" or (kind == "swap" and text == "-1"):
        return
    if kind == "int" and not _is_int(text):
        raise _flag_error(f'invalid argument "{text}" for "{flag}" flag: strconv.ParseInt: parsing "{text}": '
                          "invalid syntax")
    if kind in ("size", "swap"):
        from minidock.engine.resources import is_size

        if not is_size(text):
            raise _flag_error(f"invalid argument \"{text}\" for \"{flag}\" flag: invalid size: '{text}'")


def _check_ulimit(text: str) -> None:
    """docker/cli's ParseUlimit: NAME=SOFT[:HARD], a known NAME, integers, soft <= hard."""
    from minidock.engine.limits import ULIMITS

    name, eq, value = text.partition("=")
    why = ""
    if not eq:
        why = f"invalid ulimit argument: {text}"
    elif name not in ULIMITS:
        why = f"invalid ulimit type: {name}"
    else:
        soft, colon, hard = value.partition(":")
        bad = next((v for v in (soft, hard)[:2 if colon else 1] if not _is_int(v)), None)
        if bad is not None:
            why = f'strconv.ParseInt: parsing "{bad}": invalid syntax'
        elif hard and int(soft) > int(hard):
            why = f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
    if why:
        raise _flag_error(f'invalid argument "{text}" for "--ulimit" flag: {why}')


def _is_int(text: str) -> bool:
    digits = text[1:] if text[:1] in ("+", "-") else text
    return digits.isascii() and digits.isdigit()


def _flag_error(text: str) -> MinidockError:
    from minidock.cli.usage import see
    from minidock.errors import FlagError

    return FlagError(f"{text}\n{see(COMMAND)}")
