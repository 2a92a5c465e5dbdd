"""One error hierarchy for everything a user can get wrong (and its warnings).

Every error carries the span of the offending text, so the command line can
print ``path:line:col: error: message``, the source line and a caret under the
text. Stages collect independent errors into a ``PlanErrors`` so that one run
reports all of them, not only the first.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Span:
    """A region of a source file; lines and columns count from 1."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, file: str, line: int = 1, column: int = 1) -> "Span":
        return cls(file, line, column, line, column + 1)


class PlanError(Exception):
    """A mistake in a plan or in a file it names; printed, never a traceback."""

    kind = "error"

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint
        # The source line the span points at, attached by whoever read the text
        # (``planner.diagnostics.attach_lines``); never read back from disk.
        self.line_text: str | None = None

    def __str__(self) -> str:
        where = f"{self.span.file}:{self.span.line}:{self.span.column}: " if self.span else ""
        text = f"{where}{self.kind}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class PlanWarning(PlanError):
    """Something the plan should hear about that does not stop it: printed as
    ``path:line:col: warning: ...``, never raised, and the exit code is unchanged."""

    kind = "warning"


class PlanSyntaxError(PlanError):
    """Text the grammar cannot read."""


class PlanTypeError(PlanError):
    """A value of the wrong kind or unit for its key, or out of range."""


class PlanNameError(PlanError):
    """An unknown key, block, model or GPU, a duplicate name, a bad sweep target."""


class PlanImportError(PlanError):
    """A missing, unreadable or cyclic import, or an unreadable config.json."""


class PlanLimitError(PlanError):
    """Input past a documented size limit (planner.syntax.limits): too large to read."""


class PlanErrors(PlanError):
    """Several independent errors, reported together in source order."""

    def __init__(self, errors: list[PlanError]):
        flat: list[PlanError] = []
        for error in errors:
            flat.extend(error.errors if isinstance(error, PlanErrors) else [error])
        flat.sort(key=lambda e: (e.span is None, e.span or Span("", 0, 0, 0, 0)))
        super().__init__(f"{len(flat)} errors", flat[0].span if flat else None)
        self.errors = flat


class Collector:
    """Gathers independent errors; ``raise_if_any`` raises them together."""

    def __init__(self) -> None:
        self.errors: list[PlanError] = []
        self.warnings: list[PlanWarning] = []

    def add(self, error: PlanError) -> None:
        self.errors.append(error)

    def warn(self, warning: PlanWarning) -> None:
        self.warnings.append(warning)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise PlanErrors(self.errors)
