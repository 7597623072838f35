#!/usr/bin/env python3
"""Run every benchmark in turn (`make bench`); each prints its own table of medians and ratios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("run", "pull", "build", "push", "net")


def main() -> int:
    failed = []
    for name in SCRIPTS:
        print(f"\n===== bench/{name} =====", flush=True)
        if subprocess.run([sys.executable, str(HERE / name)], check=False).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
