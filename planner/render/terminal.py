"""The terminal table's text, built as rich builds it but without its per-renderable machinery.

``render_table`` printed every line and table through a rich ``Console``: about 3 ms a
table, so a fleet of 10,000 workloads spent half a minute there. For the text the table
prints (single-cell characters, no markup, no emoji codes) rich's output is plain string
work: words wrapped with rich's own ``divide_line``, column widths measured and collapsed
as ``rich.table.Table`` does (with its own ``_collapse_widths`` and ``ratio_reduce``), the
cells padded, aligned and joined with the console's box characters. ``Screen`` does that
and hands anything else (a character outside ``SIMPLE``, an emoji code, a column too
narrow for its padding) to rich itself, so the bytes are rich's in every case;
tests/render/test_terminal.py holds the two to each other.
"""

from __future__ import annotations

import functools
import io
import re

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

try:  # rich's own helpers, private: a rich without them renders every text itself
    from rich._emoji_replace import _emoji_replace
    from rich._ratio import ratio_reduce
    from rich._wrap import divide_line
    FAST = hasattr(Table, "_collapse_widths")
except ImportError:
    FAST = False

# Characters the fast path takes: printable ASCII and the few others planner's spellings
# use, each one cell wide (checked against rich's own cell widths when this loads).
_CANDIDATES = "×·—−→–…≤≥µ€£"
SIMPLE_CHARS = " -~" + "".join(ch for ch in _CANDIDATES if cell_len(ch) == 1)
_SIMPLE = re.compile(f"[{SIMPLE_CHARS}\n]*")
_TRAILING_SPACE = re.compile(r"\s+$")  # rich.text's _re_whitespace
_PAD = 1  # Table's default padding: one space each side of a cell
# Cells measured and laid out, kept by (text, width): a fleet's tables repeat most cells
# ("TP1 bf16", "capacity", the same service at the same load).
_KEPT = 65536


def simple(text: str) -> bool:
    """Text the fast path renders as rich would: only ``SIMPLE_CHARS`` and newlines, and
    nothing rich's emoji codes (``:name:``) would replace; nothing at all when this rich
    lacks the helpers the fast path uses (``FAST``)."""
    return FAST and _SIMPLE.fullmatch(text) is not None and (":" not in text or _emoji_replace(text) == text)


def wrap(line: str, width: int, pad: bool) -> list[str]:
    """One line of text (no newline) as ``rich.text.Text.wrap`` lays it out at ``width``
    with overflow "fold": broken where ``divide_line`` says, each piece's whitespace past the
    width dropped, cropped to the width, and padded to it when ``pad`` (justify "left")."""
    if len(line) <= width:  # every word fits: divide_line breaks nowhere
        return [line + " " * (width - len(line)) if pad else line]
    offsets = divide_line(line, width, fold=True)
    bounds = [0, *offsets, len(line)]
    out = []
    for start, end in zip(bounds, bounds[1:]):
        piece = line[start:end]
        if len(piece) > width:  # Text.rstrip_end
            found = _TRAILING_SPACE.search(piece)
            if found is not None:
                piece = piece[:len(piece) - min(len(found.group(0)), len(piece) - width)]
        piece = piece[:width]  # Text.truncate: one cell per character here
        if pad:
            piece += " " * (width - len(piece))
        out.append(piece)
    return out


@functools.lru_cache(maxsize=_KEPT)
def _measure(text: str, most: int) -> tuple[int, int]:
    """(min, max) width of a padded cell as ``Measurement.get`` gives it at ``most`` cells
    (``Padding.__rich_measure__`` around ``Text.__rich_measure__``)."""
    def normal(low: int, high: int) -> tuple[int, int]:
        low = min(max(0, low), high)
        return max(0, low), max(0, max(low, high))

    def bounded(low: int, high: int) -> tuple[int, int]:  # Measurement.get's last steps
        low, high = normal(low, high)
        low, high = min(low, most), min(high, most)
        return (0, 0) if high < 1 else normal(low, high)

    extra = 2 * _PAD
    if most - extra < 1:
        return bounded(most, most)
    lines = text.splitlines()
    high = max(len(line) for line in lines) if lines else 0
    words = text.split()
    low = max(len(word) for word in words) if words else high
    low, high = bounded(low, high)
    return bounded(min(low + extra, most), min(high + extra, most))


def _column(cells: list[str], most: int) -> tuple[int, int]:
    """``Table._measure_column`` of a column whose cells are ``cells``."""
    if most < 1:
        return 0, 0
    sizes = [_measure(cell, most) for cell in cells]
    low = max(s[0] for s in sizes) if sizes else 1
    high = max(s[1] for s in sizes) if sizes else most
    return min(low, most), min(high, most)


def _widths(columns: list[list[str]], most: int) -> list[int]:
    """``Table._calculate_column_widths`` (not expanded, no fixed widths, all wrapping)."""
    widths = [_column(cells, most)[1] or 1 for cells in columns]
    if sum(widths) > most:
        widths = Table._collapse_widths(widths, [True] * len(widths), most)
        if sum(widths) > most:
            widths = ratio_reduce(sum(widths) - most, [1] * len(widths), widths, widths)
        widths = [_column(cells, width)[1] or 0 for cells, width in zip(columns, widths)]
    return widths


@functools.lru_cache(maxsize=_KEPT)
def _cell(text: str, width: int) -> tuple[str, ...]:
    """A cell's lines at ``width``: its text wrapped at width - 2, left-justified, a space
    each side (``Padding`` around ``Text``)."""
    inner = width - 2 * _PAD
    return tuple(" " + piece + " " for line in text.split("\n") for piece in wrap(line, inner, True))


class Screen:
    """What ``render_table`` prints, as text: ``line`` for a line, ``table`` for a table,
    ``blank`` for an empty line, ``text`` for everything printed."""

    def __init__(self, width: int):
        self.width = width
        self.out = io.StringIO()
        # the console rich would print with: the reference for the fallback, and its box
        self.console = Console(file=self.out, width=width, color_system=None, force_terminal=False,
                               markup=False, highlight=False, soft_wrap=False)
        self.box = Table().box.substitute(self.console.options, safe=self.console.safe_box)

    def text(self) -> str:
        return self.out.getvalue()

    def blank(self) -> None:
        self.out.write("\n")

    def line(self, text: str) -> None:
        if "\n" in text or not simple(text):
            self.console.print(text)
            return
        self.out.write("\n".join(wrap(text, self.width, False)) + "\n")

    def table(self, title: str, header: list[str], body: list[list[str]]) -> None:
        lines = self._table_lines(title, header, body)
        if lines is None:
            table = Table(title=title, title_justify="left")
            for col in header:
                table.add_column(col, overflow="fold")
            for cells in body:
                table.add_row(*cells)
            self.console.print(table)
            return
        self.out.write("\n".join(lines) + "\n")

    def _table_lines(self, title: str, header: list[str], body: list[list[str]]) -> list[str] | None:
        """The table's lines as rich renders it, or None where only rich can say."""
        if not simple(title):
            return None
        grid = _grid(self.width, self.box, tuple(header), tuple(map(tuple, body)))
        if grid is None:
            return None
        total, lines = grid
        above = [piece for line in title.split("\n") for piece in wrap(line, total, True)] if title else []
        return [line[:self.width] for line in above] + lines  # the console crops to its width


@functools.lru_cache(maxsize=4096)
def _grid(width: int, box, header: tuple[str, ...], body: tuple[tuple[str, ...], ...]):
    """(table width, lines below the title) of a table on a console of ``width``, or None
    where only rich can say; kept by content (a fleet's tables repeat: the same service at
    the same load placed alike)."""
    if not header or not all(simple(t) for t in (*header, *(c for r in body for c in r))):
        return None
    if any(len(r) != len(header) for r in body):
        return None
    extra = len(header) + 1  # the edges and the dividers between columns
    columns = [[h, *(r[i] for r in body)] for i, h in enumerate(header)]
    most = width - extra
    if most < 1:
        return None
    widths = _widths(columns, most)
    if not all(w > 2 * _PAD for w in widths):
        return None
    lines = [box.get_top(widths)]
    rows = [header, *body]
    for index, cells in enumerate(rows):
        rendered = [_cell(text, w) for text, w in zip(cells, widths)]
        height = max(len(c) for c in rendered)
        if index == 0:  # the header row is aligned to the bottom, the others to the top
            rendered = [[" " * w] * (height - len(c)) + list(c) for c, w in zip(rendered, widths)]
            left, divider, right = box.head_left, box.head_vertical, box.head_right
        else:
            rendered = [list(c) + [" " * w] * (height - len(c)) for c, w in zip(rendered, widths)]
            if index == len(rows) - 1:
                left, divider, right = box.foot_left, box.foot_vertical, box.foot_right
            else:
                left, divider, right = box.mid_left, box.mid_vertical, box.mid_right
        for k in range(height):
            lines.append(left + divider.join(c[k] for c in rendered) + right)
        if index == 0:
            lines.append(box.get_row(widths, "head", edge=True))
    lines.append(box.get_bottom(widths))
    return sum(widths) + extra, [line[:width] for line in lines]


__all__ = ["SIMPLE_CHARS", "Screen", "simple", "wrap"]
