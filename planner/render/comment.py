"""``planner diff --format markdown`` kept under a pull-request comment's size limit.

GitHub refuses a comment body longer than 65,536 characters (GitLab's notes allow
1,000,000). A plan of thousands of rows can pass that, so the comment is fitted:

1. the comment as ``render`` writes it, when it fits;
2. else without the unchanged rows (``--all`` lists them; they are then only counted);
3. else with as many changed rows as fit (at least one), those that move the cost
   most (in the diff's own order), and a note saying how many are left out;
4. else as many of the listed input changes as fit, then a hard cut at a line
   boundary, with the note.

The headline and totals always cover every row; only the listing is shortened.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from planner.diff import Diff

GITHUB_COMMENT_LIMIT = 65_536


def _note(left_out: int, changed: int, inputs_left_out: int, limit: int) -> str:
    parts = []
    if left_out:
        parts.append(f"{left_out:,} of {changed:,} changed rows (those that move the cost least)")
    if inputs_left_out:
        parts.append(f"{inputs_left_out:,} input changes")
    what = " and ".join(parts) or "the end of the listing"
    return (f"> **Not everything is shown:** {what} left out to keep this comment under {limit:,} "
            "characters; `planner diff` in a terminal lists them all.")


def _with_note(text: str, note: str) -> str:
    """``note`` before the closing ``<sub>`` line, or at the end."""
    at = text.rfind("\n<sub>")
    if at < 0:
        return text.rstrip("\n") + "\n\n" + note + "\n"
    return text[:at] + "\n" + note + "\n" + text[at:]


def fit(diff: Diff, render: Callable[[Diff, bool], str], show_all: bool = False,
        limit: int = GITHUB_COMMENT_LIMIT) -> str:
    """``render(diff, show_all)`` shortened to at most ``limit`` characters (see the module)."""
    text = render(diff, show_all)
    if len(text) <= limit:
        return text
    if show_all:
        text = render(diff, False)
        if len(text) <= limit:
            return text
    changed = [r for r in diff.workloads if r.status != "unchanged"]
    by_size = sorted(range(len(changed)), key=lambda i: (-abs(changed[i].delta or 0.0), i))

    def attempt(kept: int, changes: tuple[str, ...]) -> str:
        keep = {id(changed[i]) for i in by_size[:kept]}
        rows = tuple(r for r in diff.workloads if r.status == "unchanged" or id(r) in keep)
        body = render(dataclasses.replace(diff, workloads=rows, changes=changes), False)
        if kept == len(changed) and len(changes) == len(diff.changes):
            return body
        return _with_note(body, _note(len(changed) - kept, len(changed), len(diff.changes) - len(changes), limit))

    # the most rows that fit: attempt(low) fits, or low == 1 (never 0 rows: the renderer
    # would say that no workload changed; the hard cut below shortens that one row's table)
    low, high = min(1, len(changed)), len(changed)
    while low < high:
        middle = (low + high + 1) // 2
        if len(attempt(middle, diff.changes)) <= limit:
            low = middle
        else:
            high = middle - 1
    text = attempt(low, diff.changes)
    changes = diff.changes
    while len(text) > limit and changes:
        changes = changes[:len(changes) // 2]
        text = attempt(low, changes)
    if len(text) <= limit:
        return text
    note = (f"> **Not everything is shown:** the listing is cut to keep this comment under {limit:,} "
            "characters; `planner diff` in a terminal lists every row.")
    cut = text[:max(0, limit - len(note) - 2)]
    cut = cut[:cut.rfind("\n") + 1] if "\n" in cut else ""
    return cut + "\n" + note + "\n"
