"""Plain renderings shared by the commands: Docker-style column tables."""

from __future__ import annotations

from collections.abc import Sequence


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], gap: int = 3) -> None:
    """Docker-style columns: no borders, left-aligned, never wrapped, no trailing blanks."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    for line in (headers, *rows):
        cells = [str(c).ljust(w + gap) for c, w in zip(line, widths, strict=True)]
        print("".join(cells).rstrip())
