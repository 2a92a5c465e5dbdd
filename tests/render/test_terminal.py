"""The terminal table's text (planner.render.terminal) is rich's, byte for byte.

rich is the reference: the same lines and tables printed through a rich Console (what
render_table did before it built the text itself) must give the same bytes, for words and
widths that make cells wrap, fold, collapse and align, for text the fast path hands back
to rich (emoji codes, wide characters, tabs), and for the rendered results of the examples.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table

from planner.render import render
from planner.render.terminal import SIMPLE_CHARS, Screen, simple

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.plan"))


def rich_text(width: int, steps: list) -> str:
    """What rich prints for ``steps``: ("line", text), ("blank",), ("table", title, header, body)."""
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, force_terminal=False, markup=False,
                      highlight=False, soft_wrap=False)
    for step in steps:
        if step[0] == "line":
            console.print(step[1])
        elif step[0] == "blank":
            console.print()
        else:
            _, title, header, body = step
            table = Table(title=title, title_justify="left")
            for col in header:
                table.add_column(col, overflow="fold")
            for cells in body:
                table.add_row(*cells)
            console.print(table)
    return out.getvalue()


def screen_text(width: int, steps: list) -> str:
    screen = Screen(width)
    for step in steps:
        if step[0] == "line":
            screen.line(step[1])
        elif step[0] == "blank":
            screen.blank()
        else:
            screen.table(*step[1:])
    return screen.text()


# words of the cells planner prints, with lengths that fold at narrow widths
WORDS = st.sampled_from(["TTFT", "283", "ms", "(p99", "487", "ms),", "x", "L4", "$1,234.50/month",
                         "TP2", "×4", "replicas", "—", "≤", "GiB", "a" * 30, "decided", "-",
                         "supercalifragilisticexpialidocious-and-then-some", "", "μs", ":smile:",
                         "中文", "tab\there", "12:30"])
TEXT = st.lists(WORDS, max_size=12).map(" ".join) | st.text(alphabet=SIMPLE_CHARS + "\n", max_size=60)


@st.composite
def tables(draw):
    columns = draw(st.integers(1, 9))
    header = draw(st.lists(TEXT, min_size=columns, max_size=columns))
    body = draw(st.lists(st.lists(TEXT, min_size=columns, max_size=columns), min_size=0, max_size=4))
    return ("table", draw(TEXT), header, body)


STEPS = st.lists(st.one_of(st.tuples(st.just("line"), TEXT), st.just(("blank",)), tables()),
                 min_size=1, max_size=5)


@settings(max_examples=40, deadline=None)
@given(width=st.integers(10, 200), steps=STEPS)
def test_the_screen_prints_what_rich_prints(width, steps):
    assert screen_text(width, steps) == rich_text(width, steps)


@pytest.mark.slow
@settings(max_examples=600, deadline=None)
@given(width=st.integers(10, 200), steps=STEPS)
def test_the_screen_prints_what_rich_prints_on_many_cases(width, steps):
    assert screen_text(width, steps) == rich_text(width, steps)


def test_the_fast_path_takes_planner_text_and_leaves_the_rest_to_rich():
    assert simple("TTFT 283 ms (p99 487 ms), TP2 ×4 replicas — $1,234.50/month")
    assert simple("memory/GPU\nused/usable")
    for other in ("an emoji code :smile: here", "中文", "tab\there", "e\u0301", "\x1b[1m"):
        assert not simple(other)


def test_a_fleet_table_wraps_its_cells_as_rich_does():
    header = ["users", "GPUs", "layout", "memory/GPU used/usable", "time", "load", "cost", "host",
              "decided by"]
    row = ["128", "2 x A100-40G (1 node)", "TP2 bf16", "36.0 GiB / 36.0 GiB (kv cache)",
           "TTFT 182 ms (p99 542 ms), TPOT 57 ms (p99 57 ms)",
           "8.63 requests/s, 2,210 tokens/s; 98% of capacity; HBM 29%, FLOP/s 47%",
           "$2.96/h, $2,160.80/month", "24 CPU, 80.0 GiB RAM, 15.0 GiB NVMe, net none", "capacity"]
    steps = [("line", "plan fleet: optimal"), ("blank",),
             ("table", "s0 (serve, Llama-3.1-8B)", header, [row, row[:1] + [""] * 8])]
    assert screen_text(160, steps) == rich_text(160, steps)


def reference_table(result, explain: bool = False, width: int = 160) -> str:
    """render_table as it was, through a rich Console: the reference."""
    from planner.render import common as c

    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, force_terminal=False, markup=False,
                      highlight=False, soft_wrap=False)
    console.print(c.headline(result))
    for line in c.gpu_lines(result):
        console.print(f"  {line}")
    for line in result.binding:
        console.print(f"  binding: {line}")
    for name, rows in c.groups(result):
        header, body = c.columns(rows, result.currency, result.period_hours)
        table = Table(title=f"{name} ({rows[0].kind}, {rows[0].model})", title_justify="left")
        for col in header:
            table.add_column(col, overflow="fold")
        for cells in body:
            table.add_row(*cells)
        console.print()
        console.print(table)
        for row in rows:
            who = c.label(row) + ": " if len(rows) > 1 else ""
            lines = [*c.schedule_lines(row),
                     *(row.reasons if (explain or not row.fits) else row.reasons[1:4])]
            if c.calibration_line(row):
                lines.append(c.calibration_line(row))
            if explain:
                parts = c.breakdown(row)
                if parts:
                    lines.append("memory per GPU: " + ", ".join(f"{k} {v}" for k, v in parts))
                lines += [f"alternative: {c.alternative_line(a, result.currency, row, result.period_hours)}"
                          for a in row.alternatives]
            for line in lines:
                console.print(f"  {who}{line}")
    return out.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("plan", EXAMPLES, ids=lambda p: p.name)
def test_every_example_renders_as_rich_would(plan):
    from planner import api

    for explain in (False, True):
        result = api.solve(api.load(str(plan)), file=str(plan), explain=explain)
        assert render(result, "table", explain=explain) == reference_table(result, explain)


def test_without_richs_private_helpers_every_text_goes_to_rich(monkeypatch):
    """A rich lacking the private helpers the fast path reads (``FAST`` off) prints the same
    bytes through rich itself (planner never fails on another rich's internals)."""
    from planner import api
    from planner.render import terminal

    plan = next(p for p in EXAMPLES if p.name == "chat-service.plan")
    result = api.solve(api.load(str(plan)), file=str(plan))
    fast = render(result, "table")
    monkeypatch.setattr(terminal, "FAST", False)
    terminal._grid.cache_clear()
    assert not simple("plain text")
    assert render(result, "table") == fast
