"""minidock: a daemonless mini-Docker: pull, build and run Linux containers."""

from __future__ import annotations

__version__ = "0.1.0"
