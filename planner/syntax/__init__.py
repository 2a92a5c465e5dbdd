"""The plan language: parse text to a syntax tree, convert it to a typed Plan, format it."""

from planner.syntax.convert import convert_file
from planner.syntax.parser import parse_text

__all__ = ["convert_file", "parse_text", "parse_plan"]


def parse_plan(text: str, path: str):
    """One file's text → its ``planner.plan.Plan`` (imports listed, not merged)."""
    return convert_file(parse_text(text, path))
