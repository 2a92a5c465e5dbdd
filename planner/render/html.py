"""``planner report``: one self-contained HTML page from a solve result.

No script, no network: inline CSS and SVG only, so the page can be attached
to a review, archived, or opened offline. Built from the typed result
(``planner.result.Result``); the same result gives the same bytes.
"""

from __future__ import annotations

from planner.result import Result, Row

from html import escape

from planner import units as text
from planner.render import svg

_CSS = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; max-width: 1180px; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 14px; margin: 16px 0 6px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
tr.nofit td { background: #fdecea; }
.summary span { display: inline-block; margin-right: 18px; }
.status-optimal { color: #2e7d32; } .status-feasible { color: #b26a00; } .status-infeasible { color: #c62828; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
ul.reasons { margin: 2px 0 2px 18px; padding: 0; font-size: 12px; }
"""


def _cell(value: str, numeric: bool = False, nowrap: bool = False) -> str:
    if numeric:
        return f'<td class="num">{escape(value)}</td>'
    return f'<td class="nowrap">{escape(value)}</td>' if nowrap else f"<td>{escape(value)}</td>"


def _summary(result: Result) -> str:
    currency = result.currency or "USD"
    status = str(result.status)
    items = [
        f'<span>status: <b class="status-{escape(status)}">{escape(status)}</b></span>',
        f"<span>objective: <b>{escape(str(result.objective))}</b></span>",
        f"<span>total cost: <b>{escape(text.money(result.total_cost, currency))}</b></span>",
    ]
    if result.budget is not None:
        items.append(f"<span>budget: <b>{escape(text.money(result.budget, currency))}</b></span>")
    if result.gap:
        items.append(f"<span>gap: {result.gap * 100:.2f}%</span>")
    items.append(f"<span>file: <code>{escape(str(result.file))}</code></span>")
    return f'<p class="summary">{"".join(items)}</p>'


def _solution_table(rows: list[Row], currency: str) -> str:
    head = (
        "<tr><th>workload</th><th>kind</th><th>model</th><th>GPUs</th><th>nodes</th><th>layout</th>"
        "<th>memory / GPU</th><th>hours</th><th>cost</th><th>decided by</th></tr>"
    )
    body = []
    for row in rows:
        memory = (row.memory_per_gpu_bytes.total if row.memory_per_gpu_bytes else None)
        css = "" if row.fits else ' class="nofit"'
        calibrated = [text.calibration(row.calibration)] if row.calibration else []
        reasons = "".join(f"<li>{escape(r)}</li>" for r in row.reasons or []) + "".join(
            f"<li>calibrated: {escape(r)}</li>" for r in calibrated)
        body.append(
            f"<tr{css}>"
            + f"<td><b>{escape(text.label(row))}</b>"
            + (f'<ul class="reasons">{reasons}</ul>' if reasons else "")
            + "</td>"
            + _cell(str(row.kind))
            + _cell(str(row.model))
            + _cell(text.gpus_fit(row), nowrap=True)
            + _cell(str(row.nodes if row.nodes is not None else "-"), True)
            + _cell(text.layout(row.layout))
            + _cell(f"{text.memory(memory)} of {text.memory(row.usable_memory_bytes)}", True)
            + _cell(text.duration(row.hours), True)
            + _cell(text.money(row.cost, currency), True)
            + _cell(str(row.decided_by or "-"))
            + "</tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


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


def _gpu_table(gpus: dict, currency: str) -> str:
    if not gpus:
        return ""
    head = "<tr><th>GPU</th><th>available</th><th>used</th><th>price / GPU-hour</th><th>memory</th><th>usable</th></tr>"
    body = []
    for name in sorted(gpus):
        g = gpus[name]
        price = g.price_per_hour
        body.append(
            "<tr>"
            + _cell(name)
            + _cell(text.available(g.available), True)
            + _cell(str(g.used), True)
            + _cell(text.price(price, currency), True)
            + _cell(text.memory(g.memory_bytes), True)
            + _cell(text.memory(g.usable_bytes), True)
            + "</tr>"
        )
    return f"<h2>GPUs offered</h2><table>{head}{''.join(body)}</table>"


def sweep_groups(rows: list[Row]) -> list[tuple[str, list[Row]]]:
    """Sweep variants grouped by workload, in the order the result lists them."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        if row.scenario:
            groups.setdefault(row.name, []).append(row)
    return list(groups.items())


def _sweeps(rows: list[Row], currency: str) -> str:
    parts = []
    for name, variants in sweep_groups(rows):
        keys = sorted({k for v in variants for k in v.scenario})
        labels = [
            ", ".join(str(v.scenario.get(k, "-")) for k in keys) for v in variants
        ]
        swept = ", ".join(keys)
        costs = [v.cost if v.fits else None for v in variants]
        counts = [float(v.gpu_count) if v.fits and v.gpu_count else None
                  for v in variants]
        parts.append(f"<h3>{escape(name)}: swept {escape(swept)}</h3>")
        parts.append('<div class="charts">')
        parts.append(svg.line_chart(labels, costs, f"cost vs {swept}", svg.COST_COLOUR,
                                    lambda v: text.money(v, currency)))
        parts.append(svg.line_chart(labels, counts, f"GPUs vs {swept}", svg.COUNT_COLOUR,
                                    lambda v: f"{v:g}"))
        parts.append("</div>")
    if not parts:
        return ""
    return "<h2>Sweeps</h2>" + "".join(parts)


def render_html(result: Result) -> str:
    """The whole page as one string."""
    currency = result.currency or "USD"
    rows = list(result.workloads)
    placed = [r for r in rows if r.memory_per_gpu_bytes]
    title = f"planner report: {result.plan}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        _summary(result),
    ]
    if result.binding:
        parts.append("<p>Binding limits: " + "; ".join(escape(b) for b in result.binding) + "</p>")
    parts.append("<h2>Solution</h2>")
    parts.append(_solution_table(rows, currency))
    parts.append("<h2>Cost per workload</h2>")
    parts.append(svg.cost_bars(rows, currency) if rows else "<p>No workloads.</p>")
    parts.append("<h2>Memory per GPU</h2>")
    if placed:
        parts.append(svg.legend())
        parts.append(svg.memory_bars(placed))
    else:
        parts.append("<p>No workload has a layout to show.</p>")
    parts.append(_serving_table(rows))
    parts.append(_sweeps(rows, currency))
    parts.append(_gpu_table(result.gpus or {}, currency))
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p) + "\n"
