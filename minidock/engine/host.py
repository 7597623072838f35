"""Seams to the host that the engine hands to the runtime (tests point them elsewhere)."""

from __future__ import annotations

import os

CGROUP_ROOT = os.environ.get("MINIDOCK_CGROUP_ROOT", "/sys/fs/cgroup")
