"""Markdown: the same tables as the terminal, for reviews and wikis."""

from __future__ import annotations

from planner.result import Result

from planner.render import common as c


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(result: Result, explain: bool = False) -> str:
    currency = result.currency
    out = [f"# {result.plan}", "", c.headline(result), ""]
    for line in c.gpu_lines(result):
        out.append(f"- {line}")
    for line in result.binding:
        out.append(f"- binding: {line}")
    for name, rows in c.groups(result):
        first = rows[0]
        header, body = c.columns(rows, currency, result.period_hours)
        out += ["", f"## {name} ({first.kind}, {first.model})", ""]
        out.append("| " + " | ".join(_cell(h) for h in header) + " |")
        out.append("|" + "---|" * len(header))
        for cells in body:
            out.append("| " + " | ".join(_cell(x) for x in cells) + " |")
        notes = []
        for row in rows:
            who = c.label(row) + ": " if len(rows) > 1 else ""
            notes += [f"- {who}{line}" for line in c.schedule_lines(row)]
            # the choice is in the row; below it, up to 3 reasons (the deciding one first)
            reasons = row.reasons if (explain or not row.fits) else row.reasons[1:4]
            notes += [f"- {who}{r}" for r in reasons]
            calibrated = c.calibration_line(row)
            if calibrated:
                notes.append(f"- {who}{calibrated}")
            if explain:
                parts = c.breakdown(row)
                if parts:
                    notes.append(f"- {who}memory per GPU: " + ", ".join(f"{k} {v}" for k, v in parts))
                notes += [f"- {who}alternative: {c.alternative_line(a, currency, row, result.period_hours)}"
                          for a in row.alternatives]
        if notes:
            out += [""] + notes
    return "\n".join(out) + "\n"
