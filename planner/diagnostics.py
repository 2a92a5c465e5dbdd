"""Print PlanErrors as ``path:line:col: error: message``, the line, and a caret."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from planner.errors import PlanError, PlanErrors


# Texts the loader read, by path, so errors in files read through a `reader`
# (or changed on disk since) still show the line they point at.
_SOURCES: dict[str, str] = {}
_MAX_SOURCES = 256


def remember_source(path: str, text: str) -> None:
    if len(_SOURCES) >= _MAX_SOURCES and path not in _SOURCES:
        _SOURCES.pop(next(iter(_SOURCES)))
    _SOURCES[path] = text


def _source_line(path: str, line: int) -> str | None:
    text = _SOURCES.get(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, ValueError):
            return None
    lines = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else None


def format_error(error: PlanError) -> str:
    out = [str(error)]
    span = error.span
    if span is not None:
        text = _source_line(span.file, span.line)
        if text is not None and span.column - 1 <= len(text):
            width = max(1, (span.end_column - span.column) if span.end_line == span.line else 1)
            width = min(width, max(1, len(text) - span.column + 1))
            # Keep tabs in the caret's indent so it lines up under tab-indented text.
            indent = "".join(c if c == "\t" else " " for c in text[: span.column - 1])
            out.append(f"  {text}")
            out.append("  " + indent + "^" * width)
    return "\n".join(out)


def print_errors(error: PlanError, stream: TextIO) -> None:
    errors = error.errors if isinstance(error, PlanErrors) else [error]
    for each in errors:
        print(format_error(each), file=stream)
