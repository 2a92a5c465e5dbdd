"""Solving plan text held in memory, for tests: the JSON contract as a dict, or the plan."""

from __future__ import annotations

from planner.pipeline import solve_file
from planner.resolve.load import load_plan


def solve_text(text: str, path: str = "mem/test.plan", time_limit: float = 5.0, **kw) -> dict:
    """``planner solve --format json`` of ``text`` (a reader stands in for the disk)."""
    return solve_file(path, reader=lambda _: text, time_limit=time_limit, **kw).to_json()


def solve_path(path: str, **kw) -> dict:
    """``planner solve --format json`` of the plan file at ``path``."""
    return solve_file(str(path), **kw).to_json()


def load_text(text: str, path: str = "mem/test.plan"):
    """The checked plan of ``text``."""
    return load_plan(path, reader=lambda _: text)
