"""Docker's seccomp profile format -> the filter one container gets (pure).

A profile (Docker's JSON: `defaultAction`, `archMap` or `architectures`,
`syscalls[]` with `names`, `action`, `errnoRet`, `args`, `includes`/`excludes` on `caps`,
`arches`, `minKernel`) is resolved for one container as moby's `setupSeccomp` does
(profiles/seccomp/seccomp_linux.go, v20.10): the native architecture and its sub-architectures
from `archMap`; a rule is kept when no excluded arch is ours, no excluded capability is in the
bounding set, every included capability is, an included arch is ours and the kernel is at least
`minKernel`. `defaultErrnoRet` is ignored, as Docker 20.10 ignores it. The result (`Filter`) is
what runc compiles (see seccomp_compile).

The default profile, `seccomp_default.json` beside this module, is moby's
profiles/seccomp/default.json at tag v20.10.24 (commit 5d6db842238e3c4f5f9fb9ad70ea46b35227d084,
sha256 ce3585b856aa4a193671fd8280d0d0612a998bd3f10bdb2f8530dfa958c6197f), the profile Docker
20.10 compiles in; it is Apache-2.0 data, (c) Docker, Inc. and the moby authors, unmodified.
"""

import json
from collections.abc import Iterable, Mapping
from typing import Any

from minidock.errors import UsageError
from minidock.nouns import NamedTuple

# runtime.GOARCH (what profiles' `arches` name) and libseccomp's name of the native arch, by uname -m
GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "i686": "386", "armv7l": "arm", "ppc64le": "ppc64le",
          "s390x": "s390x", "riscv64": "riscv64"}
NATIVE = {"amd64": "SCMP_ARCH_X86_64", "arm64": "SCMP_ARCH_AARCH64", "386": "SCMP_ARCH_X86",
          "arm": "SCMP_ARCH_ARM", "ppc64le": "SCMP_ARCH_PPC64LE", "s390x": "SCMP_ARCH_S390X",
          "riscv64": "SCMP_ARCH_RISCV64"}
ACTIONS = ("SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
           "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG")
OPS = ("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
       "SCMP_CMP_MASKED_EQ")


class Arg(NamedTuple):
    """One argument condition: `args[arg] op value` (MASKED_EQ: `args[arg] & value == value_two`)."""

    arg: int
    value: int
    value_two: int
    op: str


class Rule(NamedTuple):
    """What happens to calls of `names` (when every `args` condition holds)."""

    names: tuple[str, ...]
    action: str
    errno_ret: int | None = None
    args: tuple[Arg, ...] = ()


class Filter(NamedTuple):
    """A profile resolved for one container: what runc's InitSeccomp receives."""

    default_action: str
    default_errno: int | None
    arches: tuple[str, ...]
    rules: tuple[Rule, ...]


def parse(text: bytes | str, where: str) -> dict[str, Any]:
    """A profile's JSON object (UsageError naming `where` when it is not one)."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise UsageError(f"seccomp profile {where}: invalid json: {e}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("defaultAction"), str):
        raise UsageError(f"seccomp profile {where}: not a seccomp profile (no defaultAction)")
    return doc


def kernel_version(release: str) -> tuple[int, int]:
    """(major, minor) of a `uname -r` string such as 6.1.0-13-amd64."""
    parts = release.split("-", 1)[0].split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return 0, 0


def resolve(doc: Mapping[str, Any], caps: Iterable[str], machine: str, kernel: tuple[int, int]) -> Filter:
    """The filter of a container with bounding set `caps` on `machine` (uname -m) and `kernel`
    (UsageError saying what is wrong with the profile; the caller names the file)."""
    bounding = set(caps)
    arch = GOARCH.get(machine, machine)
    if doc.get("architectures") and doc.get("archMap"):
        raise UsageError("'architectures' and 'archMap' were both specified, use one")
    arches = [str(a) for a in doc.get("architectures") or ()]
    for entry in doc.get("archMap") or ():
        if entry.get("architecture") == NATIVE.get(arch):
            arches += [str(entry["architecture"]), *(str(s) for s in entry.get("subArchitectures") or ())]
    rules = []
    for call in doc.get("syscalls") or ():
        if _applies(call, bounding, arch, kernel):
            rules.append(_rule(call))
    # why None: Docker 20.10 has no `defaultErrnoRet` (moby's Seccomp type at v20.10.24 lacks it), so a
    # profile's default ERRNO is EPERM there whatever it says (containers-common's asks for ENOSYS)
    return Filter(_action(str(doc["defaultAction"])), None, tuple(arches), tuple(rules))


def _applies(call: Mapping[str, Any], caps: set[str], arch: str, kernel: tuple[int, int]) -> bool:
    """moby's include/exclude rules for one syscalls[] entry."""
    exc, inc = call.get("excludes") or {}, call.get("includes") or {}
    if arch in (exc.get("arches") or ()) or any(c in caps for c in exc.get("caps") or ()):
        return False
    if exc.get("minKernel") and kernel >= kernel_version(str(exc["minKernel"])):
        return False
    if inc.get("arches") and arch not in inc["arches"]:
        return False
    if any(c not in caps for c in inc.get("caps") or ()):
        return False
    return not (inc.get("minKernel") and kernel < kernel_version(str(inc["minKernel"])))


def _rule(call: Mapping[str, Any]) -> Rule:
    names = call.get("names") or ()
    if call.get("name"):
        if names:
            raise UsageError(f"rule {call['name']!r} has both 'name' and 'names'")
        names = (call["name"],)
    args = []
    for a in call.get("args") or ():
        op = str(a.get("op", ""))
        if op not in OPS:
            raise UsageError(f"unknown comparison {op!r} for {', '.join(names)}")
        args.append(Arg(int(a.get("index", 0)), int(a.get("value", 0)), int(a.get("valueTwo", 0)), op))
    errno = call.get("errnoRet")
    return Rule(tuple(str(n) for n in names), _action(str(call.get("action", ""))),
                int(errno) if errno is not None else None, tuple(args))


def _action(name: str) -> str:
    if name not in ACTIONS:
        raise UsageError(f"unknown action {name!r}")
    return name
