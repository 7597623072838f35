"""The list of command groups: each noun module exposes `register(app)`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minidock.cli import network

REGISTERS: list[Callable[[Any], None]] = [network.register]
