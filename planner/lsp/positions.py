"""Positions between the planner's spans and the Language Server Protocol.

A ``Span`` counts lines and columns from 1, columns in characters (code points),
lines split at ``\\n`` as the parser splits them. LSP counts both from 0, and
columns in the code units the client chose (UTF-16 unless it negotiated
otherwise): a column past a character outside the Basic Multilingual Plane
differs. ``Positions`` converts one text's positions both ways.
"""

from __future__ import annotations

import bisect

from lsprotocol import types

from planner.errors import Span


class Positions:
    """Conversions for one text; ``units(s)`` counts the client's code units in ``s``."""

    def __init__(self, text: str, units=len):
        self.text = text
        self.units = units
        self.starts = [0]
        index = text.find("\n")
        while index >= 0:
            self.starts.append(index + 1)
            index = text.find("\n", index + 1)

    def _line(self, number: int) -> str:
        begin = self.starts[number]
        end = self.starts[number + 1] - 1 if number + 1 < len(self.starts) else len(self.text)
        return self.text[begin:end]

    def position(self, offset: int) -> types.Position:
        """The LSP position of character ``offset``."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        return types.Position(line, self.units(self.text[self.starts[line]:offset]))

    def offset(self, position: types.Position) -> int:
        """The character offset of an LSP position (clamped into the text)."""
        if position.line >= len(self.starts):
            return len(self.text)
        line = self._line(max(position.line, 0))
        count = 0
        for index, char in enumerate(line):
            if count >= position.character:
                return self.starts[position.line] + index
            count += self.units(char)
        return self.starts[position.line] + len(line)

    def at(self, line: int, column: int) -> types.Position:
        """The LSP position of a span's 1-based line and column."""
        if line - 1 >= len(self.starts):
            return types.Position(max(line - 1, 0), 0)
        text = self._line(max(line - 1, 0))
        return types.Position(max(line - 1, 0), self.units(text[:max(column - 1, 0)]))

    def span(self, span: Span | None) -> types.Range:
        if span is None:
            return types.Range(types.Position(0, 0), types.Position(0, 0))
        return types.Range(self.at(span.line, span.column), self.at(span.end_line, span.end_column))

    def offsets(self, start: int, end: int) -> types.Range:
        return types.Range(self.position(start), self.position(end))

    def whole(self) -> types.Range:
        return self.offsets(0, len(self.text))


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def units_for(encoding: str | None):
    """The code-unit counter of a negotiated position encoding (UTF-16 by default)."""
    if encoding == types.PositionEncodingKind.Utf32:
        return len
    if encoding == types.PositionEncodingKind.Utf8:
        return lambda text: len(text.encode("utf-8"))
    return utf16_units
