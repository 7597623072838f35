"""The list of command groups: each noun module exposes `register(app)`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

REGISTERS: list[Callable[[Any], None]] = []
