"""JSON: the result object as docs/solve.md ("The JSON result") fixes it, keys in build order."""

from __future__ import annotations

import json

from planner.result import Result


def render_json(result: Result, explain: bool = False) -> str:
    return json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n"
