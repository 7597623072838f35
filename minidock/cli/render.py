"""Plain renderings shared by the commands: Docker-style column tables."""

from __future__ import annotations

from collections.abc import Sequence


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], gap: int = 3) -> None:
    """Docker-style columns: no borders, left-aligned, never wrapped, no trailing blanks."""
    for line in table_lines(headers, rows, gap):
        print(line)


def table_lines(headers: Sequence[str], rows: Sequence[Sequence[str]], gap: int = 3) -> list[str]:
    """The lines `table` prints (for renderers that redraw, like `stats`)."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    return ["".join(str(c).ljust(w + gap) for c, w in zip(line, widths, strict=True)).rstrip()
            for line in (headers, *rows)]
