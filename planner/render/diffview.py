"""``planner diff`` output: a terminal table, a pull-request comment, JSON.

Reads the typed ``Diff`` of ``planner.diff.diff_results``; deterministic text.
Unchanged rows are counted, not listed, in the table and the comment (they are
all in the JSON), so a reviewer sees only what moved.
"""

from __future__ import annotations

import json

from planner import units as text
from planner.diff import Diff, RowChange, Total

_STATUS_MARK = {"added": "+", "removed": "-", "changed": "~", "unchanged": " "}


def _arrow(before: str, after: str) -> str:
    return before if before == after else f"{before} → {after}"


def _money(billing: str | None, amount: float | None, currency: str, period: float,
           signed: bool = False) -> str:
    """An amount as it counts: per period for a run rate, once for a one-off; a delta
    between the two (``billing`` None) is a plain amount."""
    if amount is None:
        return "-"
    if billing == "run-rate":
        return text.money_per(amount, currency, period, signed)
    return text.money(amount, currency, signed) + (" one-off" if billing == "one-off" and not signed else "")


def _delta_billing(row: RowChange) -> str | None:
    """The billing a row's delta is in: its own, or none when it changed (one-off -> run rate)."""
    sides = {s.billing for s in (row.old, row.new) if s is not None}
    return row.billing if len(sides) == 1 else None


def _cells(row: RowChange, currency: str, period: float) -> dict:
    old, new = row.old, row.new

    def pair(fn) -> str:
        # an added row shows what it will be, a removed row what it was
        if old is None:
            return fn(new)
        if new is None:
            return fn(old)
        return _arrow(fn(old), fn(new))

    return {
        "workload": text.label(row),
        "gpus": pair(text.gpus_fit),
        "layout": pair(lambda s: text.layout(s.layout)),
        "hours": pair(lambda s: text.duration(s.hours)),
        "cost": pair(lambda s: _money(s.billing, s.cost, currency, period)),
        "delta": _money(_delta_billing(row), row.delta, currency, period, signed=True)
        + (f" ({text.percent(row.percent)})" if row.status == "changed" else ""),
        "details": "; ".join(row.schedule),
        "causes": "; ".join(row.causes),
    }


def _moved(total: Total, currency: str, period: float | None) -> str:
    """``$1,460.00/month → $2,628.00/month (+$1,168.00/month, +80.0%)``."""
    def spell(amount, signed=False):
        if period is None:
            return text.money(amount, currency, signed)
        return text.money_per(amount, currency, period, signed)
    return (f"{spell(total.old)} → {spell(total.new)}"
            f" ({spell(total.delta, True)}, {text.percent(total.percent)})")


def _headlines(diff: Diff) -> list[str]:
    """The run rate per period, the one-offs and the period's total, each old → new."""
    currency, period = diff.currency, diff.period_hours
    return [f"run rate: {_moved(diff.run_rate, currency, period)}",
            f"one-off: {_moved(diff.one_off, currency, None)}",
            f"total for {text.the_period(period)}: {_moved(diff.total, currency, None)}"]


def _shown(diff: Diff, show_all: bool) -> tuple[list[RowChange], int]:
    rows = [r for r in diff.workloads if show_all or r.status != "unchanged"]
    return rows, len(diff.workloads) - len(rows)


def _status_lines(diff: Diff) -> list[str]:
    old, new = diff.old, diff.new
    lines = []
    if old.status != new.status:
        lines.append(f"status {old.status} → {new.status}")
    elif new.status == "infeasible":
        lines.append("status: infeasible in both versions")
    return lines


_COLUMNS = (
    ("workload", "WORKLOAD"), ("gpus", "GPUS"), ("layout", "LAYOUT"), ("hours", "HOURS"),
    ("cost", "COST"), ("delta", "DELTA"), ("details", "SCHEDULE"), ("causes", "WHY"),
)


def _served(rows: list[RowChange]) -> list[RowChange]:
    """The shown rows that are services on either side."""
    return [r for r in rows if (r.old and r.old.service) or (r.new and r.new.service)]


def _serving_cells(row: RowChange) -> dict:
    """A service row's latencies and headroom, before → after."""
    def side(shown, fn) -> str:
        svc = shown.service if shown else None
        return "-" if svc is None else fn(svc)

    def pair(fn) -> str:
        before, after = side(row.old, fn), side(row.new, fn)
        if row.old is None:
            return after
        if row.new is None:
            return before
        return _arrow(before, after)

    return {
        "workload": text.label(row),
        "ttft": pair(lambda v: text.latency(v.ttft)),
        "ttft_p99": pair(lambda v: text.latency(v.ttft_p99)),
        "tpot": pair(lambda v: text.latency(v.tpot)),
        "tpot_p99": pair(lambda v: text.latency(v.tpot_p99)),
        "headroom": pair(lambda v: text.share(v.headroom)),
    }


_SERVING_COLUMNS = (
    ("workload", "SERVICE"), ("ttft", "TTFT"), ("ttft_p99", "TTFT P99"), ("tpot", "TPOT"),
    ("tpot_p99", "TPOT P99"), ("headroom", "HEADROOM"),
)


def _serving_table_lines(rows: list[RowChange]) -> list[str]:
    """Latency (median, p99) and headroom of the services shown, aligned."""
    served = _served(rows)
    if not served:
        return []
    cells = [_serving_cells(r) for r in served]
    widths = {k: max(len(h), *(len(c[k]) for c in cells)) for k, h in _SERVING_COLUMNS}
    out = ["", "  " + "  ".join(h.ljust(widths[k]) for k, h in _SERVING_COLUMNS).rstrip()]
    for r, c in zip(served, cells):
        mark = _STATUS_MARK[r.status]
        out.append((mark + " " + "  ".join(c[k].ljust(widths[k]) for k, _ in _SERVING_COLUMNS)).rstrip())
    return out


def _serving_markdown(rows: list[RowChange]) -> list[str]:
    served = _served(rows)
    if not served:
        return []
    out = ["**Serving** (TTFT and TPOT: median and p99 of a seeded simulation; headroom: "
           "1 − load / capacity)", "",
           "| Workload | TTFT | TTFT p99 | TPOT | TPOT p99 | Headroom |",
           "|---|---:|---:|---:|---:|---:|"]
    for r in served:
        c = _serving_cells(r)
        out.append(f"| `{_md(c['workload'])}` | {_md(c['ttft'])} | {_md(c['ttft_p99'])}"
                   f" | {_md(c['tpot'])} | {_md(c['tpot_p99'])} | {_md(c['headroom'])} |")
    return out + [""]


def render_table(diff: Diff, show_all: bool = False) -> str:
    """Aligned plain text for a terminal (no colour codes: it is also piped to files)."""
    currency = diff.currency
    out = [f"planner diff: {diff.old.file} → {diff.new.file}"]
    out += _headlines(diff)
    out += _status_lines(diff)
    if diff.changes:
        out.append("inputs changed: " + "; ".join(diff.changes))
    rows, hidden = _shown(diff, show_all)
    out.append("")
    if rows:
        cells = [_cells(r, currency, diff.period_hours) for r in rows]
        marks = [_STATUS_MARK[r.status] for r in rows]
        widths = {k: max(len(h), *(len(c[k]) for c in cells)) for k, h in _COLUMNS}
        header = "  " + "  ".join(h.ljust(widths[k]) for k, h in _COLUMNS)
        out.append(header.rstrip())
        for mark, c in zip(marks, cells):
            out.append((mark + " " + "  ".join(c[k].ljust(widths[k]) for k, _ in _COLUMNS)).rstrip())
        out += _serving_table_lines(rows)
    else:
        out.append("no workload changed")
    if hidden:
        out.append(f"{hidden} workload{'s' if hidden != 1 else ''} unchanged")
    return "\n".join(out) + "\n"


def _md(value: str) -> str:
    """A markdown table cell: pipes escaped, no line breaks."""
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _sentence(what: str, total: Total, spell) -> str:
    """``**Run rate will increase by $1,168.00/month (+80.0%)**: $1,460.00/month → ...``."""
    if not total.delta:
        return f"**{what} will stay the same**: {spell(total.new)}"
    direction = "increase" if total.delta > 0 else "decrease"
    return (f"**{what} will {direction} by {spell(abs(total.delta))} ({text.percent(total.percent)})**: "
            f"{spell(total.old)} → {spell(total.new)}")


def render_markdown(diff: Diff, show_all: bool = False) -> str:
    """A pull-request comment in the manner of Infracost: headline, table, details. The
    run rate and the one-offs are stated apart: a removed one-off pretrain is not a cheaper
    month of serving."""
    currency, period = diff.currency, diff.period_hours
    name = diff.new.plan or diff.old.plan or ""
    out = [f"### planner cost estimate: `{_md(name)}`", ""]
    out.append(_sentence("Run rate", diff.run_rate, lambda x: text.money_per(x, currency, period)) + "  ")
    out.append(_sentence("One-off cost", diff.one_off, lambda x: text.money(x, currency)) + "  ")
    total = diff.total
    out.append(f"Total for {text.the_period(period)}: {text.money(total.old, currency)} → "
               f"{text.money(total.new, currency)} ({text.money(total.delta, currency, signed=True)}, "
               f"{text.percent(total.percent)})")
    out.append("")
    for line in _status_lines(diff):
        out.append(f"> **{_md(line)}**")
        out.append("")
    rows, hidden = _shown(diff, show_all)
    if rows:
        out.append("| | Workload | GPUs | Layout | Hours | Cost | Δ | Schedule | Why |")
        out.append("|---|---|---|---|---|---:|---:|---|---|")
        for row in rows:
            c = _cells(row, currency, period)
            out.append(
                f"| {_STATUS_MARK[row.status].strip() or ' '} | `{_md(c['workload'])}` | {_md(c['gpus'])}"
                f" | {_md(c['layout'])} | {_md(c['hours'])} | {_md(c['cost'])}"
                f" | {_md(c['delta'])} | {_md(c['details'])} | {_md(c['causes'])} |"
            )
        out.append("")
        out += _serving_markdown(rows)
    else:
        out.append("No workload changed.")
        out.append("")
    if diff.changes:
        out.append("<details><summary>Inputs changed</summary>")
        out.append("")
        out += [f"- {_md(change)}" for change in diff.changes]
        out.append("")
        out.append("</details>")
        out.append("")
    if hidden:
        out.append(f"{hidden} workload{'s' if hidden != 1 else ''} unchanged.")
        out.append("")
    out.append(f"<sub>`{_md(str(diff.old.file))}` → `{_md(str(diff.new.file))}`,"
               " generated by planner diff</sub>")
    return "\n".join(out) + "\n"


def render_json(diff: Diff) -> str:
    return json.dumps(diff.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
