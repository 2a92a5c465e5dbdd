"""JSON: the result object as docs/solve.md ("The JSON result") fixes it, keys in build order."""

from __future__ import annotations

import json


def render_json(result: dict, explain: bool = False) -> str:
    return json.dumps(result, indent=2, ensure_ascii=False) + "\n"
