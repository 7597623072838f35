"""The list of command groups: each noun module exposes `register(app)`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minidock.cli import network, pull, run

REGISTERS: list[Callable[[Any], None]] = [run.register, network.register, pull.register]
