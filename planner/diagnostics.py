"""Print PlanErrors as ``path:line:col: error: message``, the line, and a caret.

The source line travels with the error (``PlanError.line_text``): whoever read
a plan's text attaches the lines its errors point at (``attach_lines``), with
the text's line starts indexed once, so printing N errors costs O(N) and no
file is ever read back from disk here. Only plan texts are indexed: an error
about any other file (a config.json, a file that is not UTF-8) prints its
position and message, never that file's content.
"""

from __future__ import annotations

import bisect
import re
from typing import TextIO

from planner.errors import PlanError, PlanErrors

# A printed source line is cut to this many characters around the caret, so a
# long line with many errors is not printed whole once per error.
SHOWN_WIDTH = 100
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


class SourceLines:
    """One text with the start of every line found once: ``line(n)`` without a split."""

    def __init__(self, text: str):
        self.text = text
        self._starts: list[int] | None = None

    def _index(self) -> list[int]:
        if self._starts is None:
            self._starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        return self._starts

    def line(self, number: int) -> str | None:
        starts = self._index()
        if not 0 < number <= len(starts):
            return None
        begin = starts[number - 1]
        end = starts[number] - 1 if number < len(starts) else len(self.text)
        return self.text[begin:end].rstrip("\r")

    def line_of(self, offset: int) -> int:
        """The 1-based line holding character ``offset``."""
        return bisect.bisect_right(self._index(), offset)


def attach_lines(error: PlanError, sources: dict[str, SourceLines]) -> PlanError:
    """Give each error pointing into one of ``sources`` (path -> text) its source line."""
    for each in error.errors if isinstance(error, PlanErrors) else [error]:
        span = each.span
        if each.line_text is None and span is not None and span.file in sources:
            each.line_text = sources[span.file].line(span.line)
    return error


def _shown(text: str, start: int, width: int) -> tuple[str, int]:
    """``text`` cut to ``SHOWN_WIDTH`` characters around [start, start + width), and the
    caret's new start; control characters become `?` so nothing reaches the terminal raw."""
    text = _CONTROL.sub("?", text)
    if len(text) <= SHOWN_WIDTH:
        return text, start
    left = max(0, min(start - SHOWN_WIDTH // 3, len(text) - SHOWN_WIDTH))
    right = left + SHOWN_WIDTH
    cut = text[left:right]
    if left > 0:
        cut, start = "…" + cut[1:], start - left
    else:
        start = start - left
    if right < len(text):
        cut = cut[:-1] + "…"
    return cut, start


def _escaped(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}"


def format_error(error: PlanError) -> str:
    # A message quotes what the user wrote; control characters in it are shown escaped.
    out = [_CONTROL.sub(_escaped, str(error))]
    span, text = error.span, error.line_text
    if span is not None and text is not None and span.column - 1 <= len(text):
        width = max(1, (span.end_column - span.column) if span.end_line == span.line else 1)
        width = min(width, max(1, len(text) - span.column + 1))
        shown, start = _shown(text, span.column - 1, width)
        width = max(1, min(width, len(shown) - start))
        # Keep tabs in the caret's indent so it lines up under tab-indented text.
        indent = "".join(c if c == "\t" else " " for c in shown[:start])
        out.append(f"  {shown}")
        out.append("  " + indent + "^" * width)
    return "\n".join(out)


def print_errors(error: PlanError, stream: TextIO) -> None:
    """Every error, at most MAX_ERRORS of them (a plan and its imports together may hold more)."""
    from planner.syntax.limits import MAX_ERRORS

    errors = error.errors if isinstance(error, PlanErrors) else [error]
    for each in errors[:MAX_ERRORS]:
        print(format_error(each), file=stream)
    if len(errors) > MAX_ERRORS:
        print(f"... and {len(errors) - MAX_ERRORS:,} more errors not shown", file=stream)
