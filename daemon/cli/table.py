"""The commands' tables (feeds, alerts, silence list): columns padded to their widest cell, two spaces apart, the
last column unpadded (a title or an error runs as long as it is), the header row and chosen cells painted."""

from __future__ import annotations

from collections.abc import Sequence

from tocsin.cli.colour import Palette, Style

Cell = str | tuple[str, Style | None]
"""A cell's text, or its text and the style it is painted in."""


def render_table(header: Sequence[str], rows: Sequence[Sequence[Cell]], palette: Palette) -> str:
    texts = [list(header), *([cell if isinstance(cell, str) else cell[0] for cell in row] for row in rows)]
    widths = [max(len(line[column]) for line in texts) for column in range(len(header) - 1)]
    styled: list[Sequence[Cell]] = [[(name, "strong") for name in header], *rows]
    lines = []
    for cells, text in zip(styled, texts, strict=True):
        shown = []
        for column, (cell, plain) in enumerate(zip(cells, text, strict=True)):
            width = widths[column] if column < len(widths) else 0
            shown.append(palette.paint(plain, None if isinstance(cell, str) else cell[1], width))
        lines.append("  ".join(shown).rstrip())
    return "\n".join(lines)
