"""`python -m minidock` runs the CLI."""

from __future__ import annotations

import sys

from minidock.cli.main import main

sys.exit(main())
