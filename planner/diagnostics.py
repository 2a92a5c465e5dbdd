"""Print PlanErrors as ``path:line:col: error: message``, the line, and a caret."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from planner.errors import PlanError, PlanErrors


def _source_line(path: str, line: int) -> str | None:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return lines[line - 1] if 0 < line <= len(lines) else None


def format_error(error: PlanError) -> str:
    out = [str(error)]
    span = error.span
    if span is not None:
        text = _source_line(span.file, span.line)
        if text is not None:
            width = max(1, (span.end_column - span.column) if span.end_line == span.line else 1)
            out.append(f"  {text}")
            out.append("  " + " " * (span.column - 1) + "^" * width)
    return "\n".join(out)


def print_errors(error: PlanError, stream: TextIO) -> None:
    errors = error.errors if isinstance(error, PlanErrors) else [error]
    for each in errors:
        print(format_error(each), file=stream)
