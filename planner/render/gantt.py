"""The schedule of one GPU type as an inline SVG: GPUs in use over the window, and one lane
per workload with its runs (a Gantt chart). Read from the result's rows (``Row.schedule``)
through ``planner.pool``; fixed geometry, coordinates to one decimal, so the same result
gives the same bytes."""

from __future__ import annotations

from html import escape

from planner import units as text
from planner.pool import holds, used_at
from planner.render.svg import _FONT, COST_COLOUR, LIMIT_COLOUR, ONE_OFF_COLOUR, _n, _svg, text_width
from planner.result import GpuUse, Row

PLOT_WIDTH = 720.0
BAND = 90.0  # height of the GPUs-in-use band
LANE = 22.0  # height of one workload's lane
SERVICE_COLOUR = "#76b7b2"


def _ticks(window: float) -> list[float]:
    """Day marks for a window up to two weeks, week marks beyond (hours from its start)."""
    step = 24.0 if window <= 14 * 24 else 168.0
    count = int(window // step)
    return [k * step for k in range(count + 1)]


def gantt(gpu: str, use: GpuUse, rows: list[Row], window: float) -> str:
    """GPUs of ``gpu`` in use over the window against those available, and the runs."""
    lanes = [r for r in rows if r.fits and r.gpu == gpu and r.schedule]
    hold_list = holds(lanes, gpu)
    labels = [text.label(r) for r in lanes]
    left = max([text_width(x) for x in labels] + [text_width("GPUs in use"), 60.0]) + 14
    top = 24.0
    scale = max(use.available or 0, use.used, 1)
    x_of = lambda hours: left + hours / window * PLOT_WIDTH  # noqa: E731
    y_of = lambda gpus: top + BAND - gpus / scale * BAND  # noqa: E731
    title = f"{gpu}: {use.used} of {text.available(use.available)} GPUs at the peak"
    if use.peak_at_hours is not None and use.used:
        title += f" ({text.moment(use.peak_at_hours)})"
    if use.utilization is not None:
        title += f", {text.share(use.utilization)} busy over the window"
    body = [f'<text x="0" y="14" {_FONT} font-weight="bold">{escape(title)}</text>',
            f'<text x="0" y="{_n(top + BAND / 2)}" {_FONT}>GPUs in use</text>']
    # the band: a step line of GPUs in use, and the available GPUs dashed above it
    times = sorted({0.0, window} | {h.start for h in hold_list} | {h.end for h in hold_list})
    times = [t for t in times if t <= window]
    points = []
    for a, b in zip(times, times[1:]):
        y = y_of(used_at(hold_list, a))
        points += [(x_of(a), y), (x_of(b), y)]
    if points:
        path = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{COST_COLOUR}" stroke-width="2"/>')
    if use.available is not None:
        y = y_of(use.available)
        body.append(f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(left + PLOT_WIDTH)}" y2="{_n(y)}" '
                    f'stroke="{LIMIT_COLOUR}" stroke-dasharray="4 3"/>')
        body.append(f'<text x="{_n(left + PLOT_WIDTH + 6)}" y="{_n(y + 4)}" {_FONT}>'
                    f"{use.available} available</text>")
    body.append(f'<line x1="{_n(left)}" y1="{_n(top + BAND)}" x2="{_n(left + PLOT_WIDTH)}" '
                f'y2="{_n(top + BAND)}" stroke="#888"/>')
    # one lane per workload
    y0 = top + BAND + 10
    for i, (row, label) in enumerate(zip(lanes, labels)):
        y = y0 + i * LANE
        body.append(f'<text x="0" y="{_n(y + 14)}" {_FONT}>{escape(label)}</text>')
        colour = SERVICE_COLOUR if row.kind == "serve" else (
            ONE_OFF_COLOUR if row.billing == "one-off" else COST_COLOUR)
        for run in row.schedule:
            x1, x2 = x_of(run.start_hours), x_of(min(run.end_hours, window))
            tip = (f"{label}: {row.gpu_count} x {gpu}, "
                   f"{text.span(run.start_hours, run.end_hours)}")
            body.append(f'<rect x="{_n(x1)}" y="{_n(y + 2)}" width="{_n(max(x2 - x1, 1.0))}" height="16" '
                        f'fill="{colour}"><title>{escape(tip)}</title></rect>')
        body.append(f'<text x="{_n(left + PLOT_WIDTH + 6)}" y="{_n(y + 14)}" {_FONT}>'
                    f"{text.n_gpus(row.gpu_count)}</text>")
    bottom = y0 + len(lanes) * LANE
    grid = []  # drawn first, under the runs
    for t in _ticks(window):
        x = x_of(t)
        grid.append(f'<line x1="{_n(x)}" y1="{_n(top)}" x2="{_n(x)}" y2="{_n(bottom)}" stroke="#e4e4e4"/>')
        anchor = "start" if t == 0 else "end" if x > left + PLOT_WIDTH - 30 else "middle"
        grid.append(f'<text x="{_n(x)}" y="{_n(bottom + 16)}" {_FONT} text-anchor="{anchor}">'
                    f"{escape(text.moment(t).removesuffix(' 00:00'))}</text>")
    body[2:2] = grid
    room = max([text_width(f"{use.available} available")] + [text_width("99 GPUs")]) + 12
    width = max(left + PLOT_WIDTH + room, text_width(title))
    return _svg(width, bottom + 24, body, f"schedule of {gpu}")


__all__ = ["gantt"]
