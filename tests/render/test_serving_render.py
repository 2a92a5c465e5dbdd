"""Every renderer shows a service row's latencies (median and p99), throughput, headroom and
share of the GPUs' peaks; the diff shows them before → after (hand-built results)."""

from __future__ import annotations

import csv
import io

from planner.diff import diff_results
from planner.render.csv_format import render_csv
from planner.render.diffview import render_markdown as diff_markdown
from planner.render.diffview import render_table as diff_table
from planner.render.html import render_html
from planner.render.markdown import render_markdown
from planner.render.table import render_table

from support.results import result, serve_row, train_row, typed

RESULT = typed(result([serve_row(), train_row()]))


def test_table_and_markdown_show_median_p99_and_load():
    for text in (render_table(RESULT, width=400), render_markdown(RESULT)):
        assert "TTFT 380 ms (p99 950 ms), TPOT 30 ms (p99 36 ms)" in text
        assert "0.05 requests/s, 96 tokens/s; 25% of capacity; HBM 62%, FLOP/s 5%" in text
        assert "load" in text


def test_a_load_not_carried_shows_its_means():
    row = serve_row(fits=False, serving={"ttft_p50_seconds": None, "ttft_p99_seconds": None,
                                         "tpot_p50_seconds": None, "tpot_p99_seconds": None})
    text = render_markdown(typed(result([row])))
    assert "TTFT 410 ms (mean), TPOT 31 ms (mean)" in text


def test_csv_has_the_serving_columns_after_the_others():
    table = list(csv.DictReader(io.StringIO(render_csv(RESULT))))
    serve, train = table
    assert serve["service_ttft_p99_seconds"] == "0.95" and serve["service_engine"] == "vllm"
    assert serve["service_load_share"] == "0.25" and serve["service_running_limit"] == "40"
    assert train["service_ttft_p99_seconds"] == "" and train["service_engine"] == ""
    header = render_csv(RESULT).splitlines()[0].split(",")
    assert header.index("service_engine") > header.index("reasons")


def test_report_has_a_serving_table():
    page = render_html(RESULT)
    section = page.split("<h2>Serving under load</h2>", 1)[1].split("</table>", 1)[0]
    assert "chat-7b" in section and "tune-70b" not in section
    for cell in ("380 ms", "950 ms", "36 ms", "0.05 requests/s, 96 output tokens/s", "25%", "62%", "5%"):
        assert cell in section, cell


def test_diff_shows_latency_and_headroom_before_and_after():
    old = typed(result([serve_row(users=96, count=4, cost=2000.0)]))
    new = typed(result([serve_row(users=160, count=6, cost=3000.0,
                                  serving={"ttft_p50_seconds": 0.5, "ttft_p99_seconds": 1.4,
                                           "load_share": 0.9})]))
    diff = diff_results(old, new)
    change = diff.workloads[0]
    assert change.status == "changed" and "users 96 → 160" in change.causes
    assert (change.old.service.headroom, change.new.service.headroom) == (0.75, 0.1)
    table = diff_table(diff)
    assert "380 ms → 500 ms" in table and "950 ms → 1.4 s" in table and "75% → 10%" in table
    comment = diff_markdown(diff)
    assert "| `chat-7b` | 380 ms → 500 ms | 950 ms → 1.4 s | 30 ms | 36 ms | 75% → 10% |" in comment


def test_a_latency_change_alone_makes_a_row_changed():
    old = typed(result([serve_row()]))
    new = typed(result([serve_row(serving={"tpot_p99_seconds": 0.05})]))
    change = diff_results(old, new).workloads[0]
    assert change.status == "changed" and change.delta == 0
    assert "36 ms → 50 ms" in diff_table(diff_results(old, new))
