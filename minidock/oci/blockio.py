"""Per-device block I/O limits of the OCI runtime spec (linux.resources.blockIO): weights and throttles.

One noun for the five lists (`weightDevice`, `throttleReadBpsDevice`, `throttleWriteBpsDevice`,
`throttleReadIOPSDevice`, `throttleWriteIOPSDevice`): `BlockDevice(kind, major, minor, value)`, where
`kind` names the list by Docker's flag (`weight`, `read_bps`, `write_bps`, `read_iops`, `write_iops`).
"""

from __future__ import annotations

from minidock.nouns import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# kind -> (the OCI list, the key of its value)
LISTS: dict[str, tuple[str, str]] = {
    "weight": ("weightDevice", "weight"), "read_bps": ("throttleReadBpsDevice", "rate"),
    "write_bps": ("throttleWriteBpsDevice", "rate"), "read_iops": ("throttleReadIOPSDevice", "rate"),
    "write_iops": ("throttleWriteIOPSDevice", "rate"),
}


class BlockDevice(NamedTuple):
    """One device's weight or throttle (bytes or operations per second)."""

    kind: str
    major: int
    minor: int
    value: int


def from_json(block_io: dict[str, Any]) -> tuple[BlockDevice, ...]:
    """The per-device entries of an OCI blockIO object, in LISTS order."""
    return tuple(BlockDevice(kind, int(d["major"]), int(d["minor"]), int(d[key]))
                 for kind, (name, key) in LISTS.items() for d in block_io.get(name) or ())


def to_json(devices: tuple[BlockDevice, ...]) -> dict[str, Any]:
    """The OCI blockIO lists of `devices` (only those that have entries)."""
    out: dict[str, Any] = {}
    for d in devices:
        name, key = LISTS[d.kind]
        out.setdefault(name, []).append({"major": d.major, "minor": d.minor, key: d.value})
    return out
