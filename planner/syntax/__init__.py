"""The plan language: parse text to a syntax tree, convert it to a typed Plan, format it.

``convert_file`` and ``parse_text`` are imported from their modules on first use (PEP 562):
``planner fmt`` reads only the syntax tree, so it never builds the typed plan's classes
(``planner.plan``).
"""

from planner.lazy import lazy_names

__all__ = ["convert_file", "parse_text", "parse_plan"]

_SUBMODULE = {"convert_file": "convert", "parse_text": "parser"}


__getattr__ = lazy_names(__name__, _SUBMODULE, globals())


def parse_plan(text: str, path: str):
    """One file's text → its ``planner.plan.Plan`` (imports listed, not merged).

    Raises every independent error together: each syntax error, and the errors of
    the statements that did parse (a broken statement is skipped whole, so nothing
    is checked twice or against a half-read block). Each error carries its source line.
    """
    from planner.diagnostics import SourceLines, attach_lines
    from planner.errors import PlanError

    try:
        return _parse_plan(text, path)
    except PlanError as error:
        raise attach_lines(error, {path: SourceLines(text)}) from None


def _parse_plan(text: str, path: str):
    from planner.errors import PlanError, PlanErrors
    from planner.syntax.convert import convert_file
    from planner.syntax.parser import parse_recovering

    file, syntax = parse_recovering(text, path)
    if not syntax:
        return convert_file(file)
    errors: list[PlanError] = list(syntax)
    try:
        convert_file(file)
    except PlanError as error:
        errors.append(error)
    raise errors[0] if len(errors) == 1 else PlanErrors(errors)
