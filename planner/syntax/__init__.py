"""The plan language: parse text to a syntax tree, convert it to a typed Plan, format it."""

from planner.diagnostics import SourceLines, attach_lines
from planner.errors import PlanError, PlanErrors
from planner.syntax.convert import convert_file
from planner.syntax.parser import parse_recovering, parse_text

__all__ = ["convert_file", "parse_text", "parse_plan"]


def parse_plan(text: str, path: str):
    """One file's text → its ``planner.plan.Plan`` (imports listed, not merged).

    Raises every independent error together: each syntax error, and the errors of
    the statements that did parse (a broken statement is skipped whole, so nothing
    is checked twice or against a half-read block). Each error carries its source line.
    """
    try:
        return _parse_plan(text, path)
    except PlanError as error:
        raise attach_lines(error, {path: SourceLines(text)}) from None


def _parse_plan(text: str, path: str):
    file, syntax = parse_recovering(text, path)
    if not syntax:
        return convert_file(file)
    errors: list[PlanError] = list(syntax)
    try:
        convert_file(file)
    except PlanError as error:
        errors.append(error)
    raise errors[0] if len(errors) == 1 else PlanErrors(errors)
