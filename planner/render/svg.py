"""Inline SVG charts for the HTML report: no script, no external file, fixed geometry.

Every coordinate is rounded to one decimal so the same result gives the same
bytes. Text is escaped; colours come from one palette so the legend and the
bars agree.
"""

from __future__ import annotations

from planner.result import Row

from html import escape

from planner import units as text

# Memory components in the order they are stacked, with their colours
# (Tableau 10, chosen to stay distinguishable in print and for common colour blindness).
COMPONENTS = (
    ("weights", "weights", "#4e79a7"),
    ("gradients", "gradients", "#f28e2b"),
    ("optimizer", "optimizer", "#e15759"),
    ("activations", "activations", "#76b7b2"),
    ("kv_cache", "KV cache", "#59a14f"),
    ("overhead", "overhead", "#edc948"),
)
COST_COLOUR = "#4e79a7"
COUNT_COLOUR = "#e15759"
LIMIT_COLOUR = "#222222"

ONE_OFF_COLOUR = "#f28e2b"

_FONT = 'font-family="system-ui, sans-serif" font-size="12"'
CHAR_WIDTH = 7.2  # px per character of 12 px system-ui text, a generous average (digits ~6.7)


def text_width(value: str) -> float:
    """The room a label takes, so that no axis or bar label is clipped (the report test
    measures every label in Chromium)."""
    return CHAR_WIDTH * len(value)


def _n(value: float) -> str:
    """A coordinate: one decimal, no trailing ``.0``, never ``-0``."""
    out = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if out in ("-0", "") else out


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}"'
        f' viewBox="0 0 {_n(width)} {_n(height)}" role="img" aria-label="{escape(label)}">'
        + "".join(body)
        + "</svg>"
    )


def legend() -> str:
    """The colour key of the memory components, as one SVG strip."""
    body, x = [], 0.0
    for _, label, colour in COMPONENTS:
        body.append(f'<rect x="{_n(x)}" y="4" width="12" height="12" fill="{colour}"/>')
        body.append(f'<text x="{_n(x + 16)}" y="14" {_FONT}>{escape(label)}</text>')
        x += 24 + 7.5 * len(label)
    body.append(f'<line x1="{_n(x)}" y1="2" x2="{_n(x)}" y2="18" stroke="{LIMIT_COLOUR}" stroke-width="2"/>')
    body.append(f'<text x="{_n(x + 6)}" y="14" {_FONT}>usable capacity</text>')
    return _svg(x + 120, 20, body, "memory components legend")


def memory_bars(rows: list[Row], bar_width: float = 600.0) -> str:
    """One stacked bar per row: per-GPU memory by component against usable capacity.

    The scale is shared by all rows (the largest of GPU memory and need), so
    bars compare across GPU types; the grey frame is the GPU's memory and the
    black line the usable part.
    """
    row_height, top = 34.0, 8.0
    label_width = max([220.0] + [text_width(text.label(r)) + 12 for r in rows])
    scale_max = max(
        [max(r.gpu_memory_bytes or 0, (r.memory_per_gpu_bytes.total if r.memory_per_gpu_bytes else 0))
         for r in rows] + [1]
    )
    body, room = [], 200.0
    for i, row in enumerate(rows):
        y = top + i * row_height
        memory = row.memory_per_gpu_bytes
        body.append(
            f'<text x="0" y="{_n(y + 15)}" {_FONT}>{escape(text.label(row))}</text>'
        )
        x0 = label_width
        capacity = row.gpu_memory_bytes or 0
        if capacity:
            body.append(
                f'<rect x="{_n(x0)}" y="{_n(y)}" width="{_n(capacity / scale_max * bar_width)}"'
                f' height="20" fill="#f2f2f2" stroke="#bbbbbb"/>'
            )
        x = x0
        for key, label, colour in COMPONENTS:
            amount = memory.component(key) if memory else 0
            if amount <= 0:
                continue
            width = amount / scale_max * bar_width
            body.append(
                f'<rect x="{_n(x)}" y="{_n(y + 2)}" width="{_n(width)}" height="16" fill="{colour}">'
                f"<title>{escape(label)}: {text.memory(amount)}</title></rect>"
            )
            x += width
        usable = row.usable_memory_bytes
        if usable:
            ux = x0 + usable / scale_max * bar_width
            body.append(
                f'<line x1="{_n(ux)}" y1="{_n(y - 2)}" x2="{_n(ux)}" y2="{_n(y + 22)}"'
                f' stroke="{LIMIT_COLOUR}" stroke-width="2"/>'
            )
        total = memory.total if memory else None
        caption = f"{text.memory(total)} of {text.memory(usable)} usable" if total is not None else "no layout"
        if not row.fits:
            caption += f": {text.verdict(row)}"
        room = max(room, text_width(caption) + 12)
        body.append(
            f'<text x="{_n(x0 + bar_width + 8)}" y="{_n(y + 15)}" {_FONT}>{escape(caption)}</text>'
        )
    height = top + len(rows) * row_height
    return _svg(label_width + bar_width + room, height, body, "per-GPU memory by component")


def cost_bars(rows: list[Row], currency: str, period: float, bar_width: float = 560.0) -> str:
    """One horizontal bar per placed row, its length the row's cost in the period (run rates
    per period in blue, one-offs in orange); a row not placed gets no bar, only its verdict."""
    row_height, top = 26.0, 4.0
    label_width = max([text_width(text.label(r)) for r in rows] + [80.0]) + 12
    placed = [r for r in rows if r.fits and r.cost is not None]
    top_cost = max([r.cost for r in placed] + [0.0]) or 1.0
    captions = []
    body = []
    for i, row in enumerate(rows):
        y = top + i * row_height
        body.append(f'<text x="0" y="{_n(y + 13)}" {_FONT}>{escape(text.label(row))}</text>')
        if row not in placed:
            caption = text.verdict(row) or "not placed"
            body.append(f'<text x="{_n(label_width)}" y="{_n(y + 13)}" {_FONT} fill="#c62828">'
                        f"{escape(caption)}</text>")
            captions.append(caption)
            continue
        width = row.cost / top_cost * bar_width
        colour = ONE_OFF_COLOUR if row.billing == "one-off" else COST_COLOUR
        body.append(f'<rect x="{_n(label_width)}" y="{_n(y)}" width="{_n(width)}" height="18" fill="{colour}"/>')
        caption = (f"{text.money(row.cost, currency)} one-off" if row.billing == "one-off"
                   else text.money_per(row.cost, currency, period))
        captions.append(caption)
        body.append(f'<text x="{_n(label_width + width + 6)}" y="{_n(y + 13)}" {_FONT}>{escape(caption)}</text>')
    room = max([text_width(c) for c in captions] + [0.0]) + 12
    return _svg(label_width + bar_width + room, top + len(rows) * row_height, body, "cost per workload")


def sweep_chart(labels: list[str], values: list[float | None], title: str, colour: str, fmt,
                categorical: bool) -> str:
    """Values against the swept values, in the order written: bars for categories (int4,
    int8: no order between them), a line through the points for quantities (1GB, 10GB).
    A variant without a value (not placed) gets no mark, its label reads "not placed"."""
    known = [v for v in values if v is not None]
    high = max(known + [0.0]) or 1.0
    ticks = [fmt(high * f) for f in (0.0, 0.5, 1.0)]
    left = max(text_width(t) for t in ticks) + 14
    slot = max([text_width(label) for label in labels] + [text_width("not placed"), 48.0]) + 16
    right, top, bottom = 16.0, 28.0, 44.0
    plot_w = max(300.0, slot * len(labels))
    plot_h = 168.0
    width = max(left + plot_w + right, text_width(title) + left)
    body = [f'<text x="{_n(left)}" y="16" {_FONT} font-weight="bold">{escape(title)}</text>']
    body.append(f'<line x1="{_n(left)}" y1="{_n(top + plot_h)}" x2="{_n(left + plot_w)}" '
                f'y2="{_n(top + plot_h)}" stroke="#888"/>')
    body.append(f'<line x1="{_n(left)}" y1="{_n(top)}" x2="{_n(left)}" y2="{_n(top + plot_h)}" stroke="#888"/>')
    for frac, tick in zip((0.0, 0.5, 1.0), ticks):
        y = top + plot_h * (1 - frac)
        body.append(f'<text x="{_n(left - 6)}" y="{_n(y + 4)}" {_FONT} text-anchor="end">{escape(tick)}</text>')
    step = plot_w / len(labels)
    points = []
    for i, (label, value) in enumerate(zip(labels, values)):
        x = left + step * (i + 0.5)
        body.append(f'<text x="{_n(x)}" y="{_n(top + plot_h + 18)}" {_FONT} text-anchor="middle">'
                    f"{escape(label)}</text>")
        if value is None:
            body.append(f'<text x="{_n(x)}" y="{_n(top + plot_h - 6)}" {_FONT} text-anchor="middle" '
                        f'fill="#c62828">not placed</text>')
            continue
        y = top + plot_h * (1 - value / high)
        tip = f"<title>{escape(label)}: {escape(fmt(value))}</title>"
        if categorical:
            bar = min(step * 0.6, 80.0)
            body.append(f'<rect x="{_n(x - bar / 2)}" y="{_n(y)}" width="{_n(bar)}" '
                        f'height="{_n(top + plot_h - y)}" fill="{colour}">{tip}</rect>')
        else:
            points.append((x, y))
            body.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="4" fill="{colour}">{tip}</circle>')
    if len(points) > 1:
        path = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
        body.insert(3, f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
    return _svg(width, top + plot_h + bottom, body, title)
