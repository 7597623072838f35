"""The list of command groups: each noun module exposes `register(app)`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minidock.cli import (
    build,
    completion,
    containers,
    files,
    images,
    network,
    ports,
    pull,
    runcmd,
    share,
    system,
    volumes,
)

REGISTERS: list[Callable[[Any], None]] = [runcmd.register, network.register, pull.register, images.register,
                                          containers.register, build.register, share.register,
                                          ports.register, system.register, volumes.register,
                                          files.register, completion.register]
