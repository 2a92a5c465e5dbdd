"""``planner report``: one self-contained HTML page from a solve result, for the people who
sign the budget.

The page opens with the period's money (run rate per period, one-off, the period's total,
the budget) and the pool (GPUs per type at the peak, how busy over the window or the
period); then the services (latency and throughput beside their cost), the jobs (run time,
repeats, schedule, cost per run and in the period), the schedule of each GPU type when the
plan has a window, cost and memory charts, and the sweeps (bars for categories, a line
for quantities). No script, no network: inline CSS and SVG only, so the page can be
attached to a review, archived, or opened offline. Built from the typed result
(``planner.result.Result``); the same result gives the same bytes. Every number is spelled
by ``planner.units``.
"""

from __future__ import annotations

from html import escape

from planner import units as text
from planner.render import svg
from planner.render.gantt import gantt
from planner.result import Result, Row

_CSS = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; max-width: 1240px; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 14px; margin: 16px 0 6px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
tr.nofit td { background: #fdecea; }
.headline { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.figure { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 150px; }
.figure .label { font-size: 12px; color: #555; }
.figure .value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.summary span { display: inline-block; margin-right: 18px; }
.status-optimal { color: #2e7d32; } .status-feasible { color: #b26a00; } .status-infeasible { color: #c62828; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
ul.reasons { margin: 2px 0 2px 18px; padding: 0; font-size: 12px; }
tr.why td { border-top: none; color: #444; }
"""


def _cell(value: str, numeric: bool = False, nowrap: bool = False) -> str:
    if numeric:
        return f'<td class="num">{escape(value)}</td>'
    return f'<td class="nowrap">{escape(value)}</td>' if nowrap else f"<td>{escape(value)}</td>"


def _figure(label: str, value: str) -> str:
    return (f'<div class="figure"><div class="label">{escape(label)}</div>'
            f'<div class="value">{escape(value)}</div></div>')


def _headline(result: Result) -> str:
    """The period's money, then the pool: what a budget owner signs."""
    currency, period = result.currency, result.period_hours
    figures = [
        _figure(f"run rate per {text.period(period)}", text.money_per(result.run_rate_cost, currency, period)),
        _figure("one-off", text.money(result.one_off_cost, currency)),
        _figure(f"total for {text.the_period(period)}", text.money(result.total_cost, currency)),
    ]
    if result.budget is not None:
        figures.append(_figure("budget", text.money(result.budget, currency)))
    over = "the window" if result.window_hours is not None else f"the {text.period(period)}"
    for name, g in result.gpus.items():
        if g.used:
            figures.append(_figure(f"{name} at the peak, busy over {over}",
                                   f"{g.used} of {text.available(g.available)}, {text.share(g.utilization)}"))
    status = str(result.status)
    items = [
        f'<span>status: <b class="status-{escape(status)}">{escape(status)}</b></span>',
        f"<span>objective: <b>{escape(str(result.objective))}</b></span>",
        f"<span>period: <b>{escape(text.the_period(period))}</b></span>",
    ]
    if result.window_hours is not None:
        items.append(f"<span>jobs scheduled over <b>{escape(text.duration(result.window_hours))}</b></span>")
    if result.gap:
        items.append(f"<span>gap: {result.gap * 100:.2f}%</span>")
    items.append(f"<span>file: <code>{escape(str(result.file))}</code></span>")
    return (f'<div class="headline">{"".join(figures)}</div>'
            f'<p class="summary">{"".join(items)}</p>')


def _first_cell(row: Row) -> str:
    return f"<td><b>{escape(text.label(row))}</b></td>"


def _why(row: Row, columns: int) -> str:
    """The row's reasons, and the calibration its estimate used, under it across the table."""
    calibrated = [f"calibrated: {text.calibration(row.calibration)}"] if row.calibration else []
    if not row.reasons and not calibrated:
        return ""
    items = "".join(f"<li>{escape(r)}</li>" for r in (*row.reasons, *calibrated))
    css = ' class="why nofit"' if not row.fits else ' class="why"'
    return f'<tr{css}><td colspan="{columns}"><ul class="reasons">{items}</ul></td></tr>'


def _memory(row: Row) -> str:
    mem = row.memory_per_gpu_bytes
    return f"{text.memory(mem.total if mem else None)} of {text.memory(row.usable_memory_bytes)}"


def _services(rows: list[Row], currency: str, period: float) -> str:
    head = ("<tr><th>service</th><th>model</th><th>GPUs</th><th>layout</th><th>TTFT</th>"
            "<th>TPOT</th><th>throughput</th><th>memory / GPU</th><th>per hour</th>"
            f"<th>per {escape(text.period(period))}</th><th>decided by</th></tr>")
    body = []
    for row in rows:
        css = "" if row.fits else ' class="nofit"'
        throughput = "-" if row.tokens_per_second is None else f"{row.tokens_per_second:,.0f} tokens/s"
        body.append(
            f"<tr{css}>" + _first_cell(row) + _cell(row.model) + _cell(text.gpus_fit(row), nowrap=True)
            + _cell(text.layout(row.layout)) + _cell(text.latency(row.ttft_seconds), True)
            + _cell(text.latency(row.tpot_seconds), True) + _cell(throughput, True)
            + _cell(_memory(row), True)
            + _cell("-" if row.cost_per_hour is None else f"{text.money(row.cost_per_hour, currency)}/h", True)
            + _cell(text.money_per(row.cost, currency, period), True)
            + _cell(str(row.decided_by or "-")) + "</tr>" + _why(row, 11))
    return f"<h2>Services</h2><table>{head}{''.join(body)}</table>"


def _when(row: Row) -> str:
    if not row.fits or not row.schedule:
        return "-"
    if len(row.schedule) == 1:
        return text.span(row.schedule[0].start_hours, row.schedule[0].end_hours)
    return f"{len(row.schedule)} runs from {text.moment(row.schedule[0].start_hours)}"


def _jobs(rows: list[Row], currency: str, period: float, window: bool) -> str:
    head = ("<tr><th>job</th><th>kind</th><th>model</th><th>GPUs</th><th>layout</th>"
            "<th>memory / GPU</th><th>run time</th><th>repeats</th>"
            + ("<th>scheduled</th>" if window else "")
            + f"<th>per run</th><th>in the {escape(text.period(period))}</th><th>decided by</th></tr>")
    body = []
    for row in rows:
        css = "" if row.fits else ' class="nofit"'
        repeats = "once" if row.every_hours is None else (
            f"every {text.duration(row.every_hours)} ({text.plain(round(row.runs_per_period, 2))} per {text.period(period)})")
        in_period = ("-" if row.cost is None else text.money_per(row.cost, currency, period)
                     if row.billing == "run-rate" else f"{text.money(row.cost, currency)} one-off")
        body.append(
            f"<tr{css}>" + _first_cell(row) + _cell(row.kind) + _cell(row.model)
            + _cell(text.gpus_fit(row), nowrap=True) + _cell(text.layout(row.layout))
            + _cell(_memory(row), True) + _cell(text.duration(row.hours), True) + _cell(repeats)
            + (_cell(_when(row), nowrap=True) if window else "")
            + _cell(text.money(row.cost_per_run, currency), True) + _cell(in_period, True)
            + _cell(str(row.decided_by or "-")) + "</tr>" + _why(row, 12 if window else 11))
    return f"<h2>Jobs</h2><table>{head}{''.join(body)}</table>"


def _serving_table(rows: list[Row]) -> str:
    """Every service row under its load: latencies (median and p99 where simulated, else
    the mean), throughput, headroom and the share of the GPUs' peaks it uses."""
    served = [r for r in rows if r.service is not None]
    if not served:
        return ""
    head = ("<tr><th>workload</th><th>engine</th><th>load</th><th>TTFT p50</th><th>TTFT p99</th>"
            "<th>TPOT p50</th><th>TPOT p99</th><th>throughput</th>"
            "<th>of capacity</th><th>HBM bandwidth</th><th>peak FLOP/s</th></tr>")
    body = []
    for row in served:
        svc, inputs = row.service, row.inputs
        css = "" if row.fits else ' class="nofit"'
        body.append(
            f"<tr{css}>"
            + _cell(text.label(row)) + _cell(svc.engine)
            + _cell(text.load(inputs.users, inputs.rate), True)
            + _cell(text.latency(svc.ttft_p50_seconds), True)
            + _cell(text.latency(svc.ttft_p99_seconds), True)
            + _cell(text.latency(svc.tpot_p50_seconds), True)
            + _cell(text.latency(svc.tpot_p99_seconds), True)
            + _cell(f"{text.per_second(svc.requests_per_second)}, "
                    f"{text.per_second(svc.output_tokens_per_second, 'output tokens')}", True)
            + _cell(text.share(svc.load_share), True)
            + _cell(text.share(svc.bandwidth_share), True)
            + _cell(text.share(svc.compute_share), True)
            + "</tr>"
        )
    return f"<h2>Serving under load</h2><table>{head}{''.join(body)}</table>"


def _pool(result: Result) -> str:
    gpus = result.gpus or {}
    if not gpus:
        return ""
    over = "window" if result.window_hours is not None else text.period(result.period_hours)
    head = ("<tr><th>GPU</th><th>available</th><th>at the peak</th><th>when</th>"
            f"<th>GPU-hours over the {escape(over)}</th><th>busy</th><th>price / GPU-hour</th>"
            "<th>memory</th><th>usable</th></tr>")
    body = []
    for name, g in gpus.items():
        body.append(
            "<tr>" + _cell(name) + _cell(text.available(g.available), True) + _cell(str(g.used), True)
            + _cell(text.moment(g.peak_at_hours) if g.peak_at_hours is not None and g.used else "-", nowrap=True)
            + _cell("-" if g.gpu_hours is None else f"{g.gpu_hours:,.1f}", True)
            + _cell(text.share(g.utilization), True)
            + _cell(text.price(g.price_per_hour, result.currency), True)
            + _cell(text.memory(g.memory_bytes), True) + _cell(text.memory(g.usable_bytes), True) + "</tr>")
    return f"<h2>GPU pool</h2><table>{head}{''.join(body)}</table>"


def _schedule(result: Result) -> str:
    if result.window_hours is None:
        return ""
    rows = list(result.workloads)
    charts = [gantt(name, g, rows, result.window_hours) for name, g in result.gpus.items() if g.used]
    if not charts:
        return ""
    note = ("<p>Times from the window's start (day 1, 00:00). Services hold their GPUs "
            "throughout; each job runs as early as the pool allows.</p>")
    return "<h2>Schedule</h2>" + note + "".join(f"<div>{c}</div>" for c in charts)


def sweep_groups(rows: list[Row]) -> list[tuple[str, list[Row]]]:
    """Sweep variants grouped by workload, in the order the result lists them."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        if row.scenario:
            groups.setdefault(row.name, []).append(row)
    return list(groups.items())


def categorical(key: str) -> bool:
    """A swept key whose values are categories (weights, method, optimizer): no order, so
    bars; quantities (dataset, users, deadline) get a line."""
    from planner.syntax.keys import sweep_keys

    spec = sweep_keys().get(key)
    return spec is not None and spec.kind in ("enum", "name", "bool", "text")


def _sweeps(rows: list[Row], currency: str, period: float) -> str:
    parts = []
    for name, variants in sweep_groups(rows):
        keys = sorted({k for v in variants for k in v.scenario})
        labels = [", ".join(str(v.scenario.get(k, "-")) for k in keys) for v in variants]
        swept = ", ".join(keys)
        bars = len(keys) > 1 or any(categorical(k) for k in keys)
        costs = [v.cost if v.fits else None for v in variants]
        counts = [float(v.gpu_count) if v.fits and v.gpu_count else None for v in variants]
        run_rate = variants[0].billing == "run-rate"
        money = (lambda x: text.money_per(x, currency, period)) if run_rate else (lambda x: text.money(x, currency))
        parts.append(f"<h3>{escape(name)}: swept {escape(swept)}</h3>")
        parts.append('<div class="charts">')
        parts.append(svg.sweep_chart(labels, costs, f"cost vs {swept}", svg.COST_COLOUR, money, bars))
        parts.append(svg.sweep_chart(labels, counts, f"GPUs vs {swept}", svg.COUNT_COLOUR,
                                     lambda v: f"{v:g}", bars))
        parts.append("</div>")
    if not parts:
        return ""
    return "<h2>Sweeps</h2>" + "".join(parts)


def render_html(result: Result) -> str:
    """The whole page as one string."""
    currency = result.currency or "USD"
    period = result.period_hours
    rows = list(result.workloads)
    services = [r for r in rows if r.kind == "serve"]
    jobs = [r for r in rows if r.kind != "serve"]
    placed = [r for r in rows if r.memory_per_gpu_bytes]
    title = f"planner report: {result.plan}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        _headline(result),
    ]
    if result.binding:
        parts.append("<p>Binding limits: " + "; ".join(escape(b) for b in result.binding) + "</p>")
    parts.append(_pool(result))
    if services:
        parts.append(_services(services, currency, period))
        parts.append(_serving_table(services))
    if jobs:
        parts.append(_jobs(jobs, currency, period, result.window_hours is not None))
    parts.append(_schedule(result))
    parts.append(f"<h2>Cost per workload, in the {escape(text.period(period))}</h2>")
    parts.append(svg.cost_bars(rows, currency, period) if rows else "<p>No workloads.</p>")
    parts.append("<h2>Memory per GPU</h2>")
    if placed:
        parts.append(svg.legend())
        parts.append(svg.memory_bars(placed))
    else:
        parts.append("<p>No workload has a layout to show.</p>")
    parts.append(_sweeps(rows, currency, period))
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p) + "\n"
