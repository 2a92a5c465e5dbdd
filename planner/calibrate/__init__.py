"""Calibration from a fleet's own runs (docs/calibration.md).

``validate(plan, file)``: every measured figure against the estimate (``validation``).
``calibrate(plan, file)``: the efficiency factors of each GPU type and engine or stack
fitted to its runs (``groups``, by the bounded least squares of ``fit``), as the text of a
plan file of ``calibration`` blocks. The runs are the plan's measured blocks as the
estimator sees them (``runs``).
"""

from __future__ import annotations


from planner import explain
from planner import plan as P
from planner.calibrate.groups import Group, block_text, calibrate as fit_groups
from planner.calibrate.validation import Case, Validation, validate
from planner.frozen import frozen


# A calibration is written when its typical error is at most this (a fraction): beyond, the
# figures are not of the runs the plan describes (a unit slip), and no factor is meaningful.
RESIDUAL_LIMIT = 1e6


def _catalog_gpus() -> set[str]:
    from planner.resolve.load import load_std

    return {g.name for g in load_std().gpus}


@frozen
class Outcome:
    """What ``planner calibrate`` found: the fitted groups, the notes on each (factors not
    identified, factors at a bound, groups with nothing to fit) and the file to write."""

    groups: tuple[Group, ...]
    notes: dict[str, tuple[str, ...]]  # group name -> sentences
    text: str  # the calibration blocks, as plan text
    written: tuple[str, ...]  # names of the blocks in ``text``


def _notes(group: Group) -> list[str]:
    defaults = {f.name: f.default for f in group.factors}
    notes = [explain.runs_note([r.name for r in group.runs])]
    for name, moves_with in group.fitted.unidentified.items():
        notes.append(explain.unidentified_note(name, defaults[name], moves_with))
    for name, side in group.fitted.at_bound.items():
        notes.append(explain.bound_note(name, side, group.fitted.values[name]))
    return notes


def calibrate(plan: P.Plan, file: str) -> Outcome:
    groups = tuple(fit_groups(plan))
    notes: dict[str, tuple[str, ...]] = {}
    blocks, written = [], []
    for group in groups:
        mine = _notes(group)
        if not group.fitted.points:
            mine.append(explain.no_fit_note(group.gpu, group.scope, group.target,
                                            "its runs measured no figure the factors move"))
        elif not group.written:
            mine.append(explain.no_fit_note(group.gpu, group.scope, group.target,
                                            "no factor could be identified"))
        elif not group.residual <= RESIDUAL_LIMIT:
            mine.append(explain.no_fit_note(group.gpu, group.scope, group.target,
                                            "its runs stay more than a million times off the "
                                            "estimate: check the figures' units"))
        else:
            blocks.append(block_text(group, mine))
            written.append(group.name)
        notes[group.name] = tuple(mine)
    head = (f"# Written by `planner calibrate {file}`: efficiency factors fitted to its measured "
            "runs,\n# each within its sourced bounds (docs/calibration.md). Import this file in "
            "any plan.\n")
    if all(g.gpu in _catalog_gpus() for g in groups if g.name in written):
        head += 'import "std"  # the GPU types calibrated\n'
    text = head + "".join("\n" + b for b in blocks) if blocks else ""
    return Outcome(groups, notes, text, tuple(written))


__all__ = ["Case", "Outcome", "Validation", "calibrate", "validate"]
