"""``planner check`` for an open document, as LSP diagnostics.

The document is loaded exactly as ``planner check FILE`` loads it (same
imports, root, checks and messages: ``planner.resolve.load.load_traced``),
with the unsaved texts of open documents read instead of the disk. Every
error of that load becomes one diagnostic of the document:

- an error in the document, at its span;
- an error in a file the document imports (directly or not), at the
  document's import that leads to that file, its message prefixed with the
  error's own ``file:line:col`` and that place given as related information;
- an error with no position, at the start of the document.

So the diagnostics of a document are ``planner check``'s errors for the same
text, one for one, and at most ``MAX_ERRORS`` of them, as check prints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types

from planner.errors import PlanError, Span
from planner.lsp.positions import Positions
from planner.plan import Plan
from planner.resolve.load import load_traced
from planner.syntax.limits import MAX_ERRORS

SOURCE = "planner"


@dataclass
class Checked:
    plan: Plan | None  # the checked plan, None when it has errors
    errors: list[PlanError] = field(default_factory=list)
    diagnostics: list[types.Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file the load read


def _same(a: str, b: str) -> bool:
    return os.path.normpath(os.path.abspath(a)) == os.path.normpath(os.path.abspath(b))


def _leading_import(span: Span, path: str, via: dict[str, Span | None]) -> Span | None:
    """The import in ``path`` through which the file of ``span`` was reached, if any."""
    seen = set()
    file = span.file
    while file not in seen:
        seen.add(file)
        reached = via.get(file)
        if reached is None:
            return None
        if _same(reached.file, path):
            return reached
        file = reached.file
    return None


def _message(error: PlanError) -> str:
    return error.message + (f" ({error.hint})" if error.hint else "")


def _severity(error: PlanError) -> types.DiagnosticSeverity:
    if getattr(error, "kind", "error") == "warning":
        return types.DiagnosticSeverity.Warning
    return types.DiagnosticSeverity.Error


def diagnostic(error: PlanError, path: str, positions: Positions,
               via: dict[str, Span | None]) -> types.Diagnostic:
    span = error.span
    if span is None or _same(span.file, path):
        return types.Diagnostic(range=positions.span(span), message=_message(error),
                                severity=_severity(error), source=SOURCE)
    where = _leading_import(span, path, via)
    related = types.DiagnosticRelatedInformation(
        location=types.Location(Path(os.path.abspath(span.file)).as_uri(),
                                _plain_range(span)),
        message=_message(error))
    return types.Diagnostic(
        range=positions.span(where), message=f"{span.file}:{span.line}:{span.column}: {_message(error)}",
        severity=_severity(error), source=SOURCE, related_information=[related])


def _plain_range(span: Span) -> types.Range:
    """A range in another file, columns as characters (its text is not at hand)."""
    return types.Range(types.Position(span.line - 1, span.column - 1),
                       types.Position(span.end_line - 1, span.end_column - 1))


def check(path: str, texts: dict[str, str], positions: Positions, root: str | None = None) -> Checked:
    """Load ``path`` (``texts``: open documents' texts by path) and its diagnostics."""
    traced = load_traced(path, texts, root)
    errors = traced.errors[:MAX_ERRORS]
    return Checked(traced.plan, traced.errors,
                   [diagnostic(error, path, positions, traced.via) for error in errors], list(traced.via))
