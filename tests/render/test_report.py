"""planner report: what the people who sign read -- the period's money, the pool, services
with their latency, jobs with their schedule -- its determinism, and how headless Chromium
renders it (nothing clipped, the charts on screen)."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib

import pytest

from planner.render.html import render_html, sweep_groups
from planner.units import money

from support.results import A10G, A100, result, serve_row, train_row, typed


def _fleet() -> dict:
    return result([
        serve_row(),
        train_row(),
        train_row(name="tune", dataset_bytes=10**9, scenario={"dataset": "1GB"}, cost=10.0, count=2, nodes=1),
        train_row(name="tune", dataset_bytes=10**11, scenario={"dataset": "100GB"}, cost=900.0, count=16),
        train_row(name="tune", dataset_bytes=10**12, scenario={"dataset": "1TB"}, cost=0.0, fits=False),
    ])


def _weights_sweep() -> dict:
    """A categorical sweep (weights), one variant not placed, a run time of 12 ms."""
    return result([
        serve_row(name="chat", scenario={"weights": "bf16"}, weights="bf16", cost=1468.76, count=2),
        serve_row(name="chat", scenario={"weights": "int4"}, weights="int4", cost=734.38),
        serve_row(name="chat", scenario={"weights": "fp8"}, weights="fp8", cost=2937.52, count=4, fits=False),
        train_row(name="tiny", hours=3.31e-06, cost=0.01, count=1, nodes=1),
    ])


def _scheduled() -> dict:
    """A week's window: a service throughout, a nightly job and a one-off job that share
    the A100s in time (8 at the peak, of 8)."""
    chat = serve_row(gpu="A100-80G", count=2, cost=2613.4)
    chat["schedule"] = [{"start_hours": 0.0, "end_hours": 168.0}]
    nightly = train_row(name="nightly", count=6, hours=5.0, cost=53.7)
    nightly.update(billing="run-rate", every_hours=24.0, runs_per_period=30.4167, cost_per_run=53.7,
                   cost=1633.38, cost_per_period=1633.38,
                   schedule=[{"start_hours": 22.0 + 24 * k, "end_hours": 27.0 + 24 * k} for k in range(6)])
    big = train_row(name="big", count=6, hours=40.0, cost=429.6)
    big["schedule"] = [{"start_hours": 27.0, "end_hours": 67.0}]
    gpus = {"A100-80G": dict(A100, available=8, used=8, gpu_hours=816.0, utilization=0.607143,
                             peak_at_hours=22.0), "A10G": dict(A10G, used=0, gpu_hours=0.0, utilization=0.0)}
    return result([chat, nightly, big], gpus=gpus, window=168.0)


def test_page_is_self_contained_and_deterministic():
    page = render_html(typed(_fleet()))
    assert page == render_html(typed(_fleet()))
    assert page.startswith("<!DOCTYPE html>")
    # nothing fetched: no script, no external reference of any kind
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=|url\(|@import|https?://(?!www\.w3\.org/2000/svg)""", page)


def test_headline_states_the_period_money_and_the_pool():
    data = _fleet()
    page = render_html(typed(data))
    headline = page.split('<div class="headline">')[1].split("</div></div>\n")[0]
    # run rate: the service; one-off: the jobs (the sweep at its costliest placed variant)
    assert data["run_rate_cost"] == 734.38 and data["one_off_cost"] == round(1432.0 + 900.0, 2)
    for figure in ("run rate per month", "$734.38/month", "one-off", "$2,332.00",
                   "total for one month (730 h)", "$3,066.38",
                   "A100-80G at the peak, busy over the month", "16 of 64, 2%",
                   "A10G at the peak, busy over the month", "1 of 8, 12%"):
        assert figure in headline, figure


def test_services_show_latency_and_throughput_and_jobs_their_cost_in_the_period():
    page = render_html(typed(_fleet()))
    services = page.split("<h2>Services</h2>")[1].split("</table>")[0]
    for th in ("TTFT", "TPOT", "throughput", "per hour", "per month"):
        assert f"<th>{th}</th>" in services
    for cell in ("410 ms", "31 ms", "96 tokens/s", "$1.01/h", "$734.38/month"):
        assert f">{cell}</td>" in services, cell
    jobs = page.split("<h2>Jobs</h2>")[1].split("</table>")[0]
    assert ">$1,432.00 one-off</td>" in jobs and "<th>in the month</th>" in jobs


def test_money_is_spelled_once_per_amount():
    # every amount on the page has cents and a thousands separator, and each row's cost
    # is the one the JSON holds (no $1,306,670.00 beside $1,306,668.99)
    data = _fleet()
    page = render_html(typed(data))
    for amount, per_hour in re.findall(r"(\$[0-9][0-9,]*(?:\.[0-9]+)?)(/h)?", page):
        if not per_hour:  # a price per GPU-hour may carry up to 4 decimals ($1.006/h)
            assert re.fullmatch(r"\$[0-9]{1,3}(,[0-9]{3})*\.[0-9]{2}", amount), amount
    for row in data["workloads"]:
        if row["fits"]:
            assert money(row["cost"], "USD") in page


def test_a_categorical_sweep_is_drawn_as_bars_and_a_quantity_as_a_line():
    page = render_html(typed(_weights_sweep()))
    chart = page.split('aria-label="cost vs weights"')[1].split("</svg>")[0]
    assert "<polyline" not in chart and chart.count("<rect") == 2  # bf16 and int4; fp8 not placed
    assert ">not placed</text>" in chart
    quantity = render_html(typed(_fleet())).split('aria-label="cost vs dataset"')[1].split("</svg>")[0]
    assert "<polyline" in quantity and quantity.count("<circle") == 2


def test_a_row_not_placed_gets_no_cost_bar():
    page = render_html(typed(_weights_sweep()))
    bars = page.split('aria-label="cost per workload"')[1].split("</svg>")[0]
    assert bars.count("<rect") == 3  # bf16, int4 and tiny; not fp8
    assert "chat [weights=fp8]</text>" in bars and ">not placed (availability)</text>" not in bars
    assert ">not placed</text>" in bars or "not placed" in bars


def test_no_duration_in_scientific_notation():
    page = render_html(typed(_weights_sweep()))
    text = re.sub(r"<[^>]+>", " ", page.split("</style>")[1])
    assert not re.search(r"[0-9]e[-+]?[0-9]", text), re.findall(r"\S*[0-9]e[-+]?[0-9]\S*", text)
    assert ">0.012 s</td>" in page  # 3.31e-06 h


def test_a_scheduled_window_draws_the_pool_of_each_gpu_type_over_time():
    page = render_html(typed(_scheduled()))
    assert "<h2>Schedule</h2>" in page and "jobs scheduled over <b>7.0 d</b>" in page
    chart = page.split('aria-label="schedule of A100-80G"')[1].split("</svg>")[0]
    assert "A100-80G: 8 of 8 GPUs at the peak (day 1 22:00), 61% busy over the window" in chart
    # one bar per run: the service's hold, 6 nightly runs, the big job's run
    assert chart.count("<rect") == 1 + 6 + 1
    assert "nightly: 6 x A100-80G, day 2 22:00 → day 3 03:00" in chart
    assert "8 available" in chart and 'aria-label="schedule of A10G"' not in page  # unused type
    jobs = page.split("<h2>Jobs</h2>")[1].split("</table>")[0]
    assert ">6 runs from day 1 22:00</td>" in jobs and ">day 2 03:00 → day 3 19:00</td>" in jobs
    assert ">every 24.0 h (30.42 per month)</td>" in jobs and ">$1,633.38/month</td>" in jobs


def test_escapes_names():
    page = render_html(typed(result([serve_row(name="<b>x</b>")])))
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_charts_leave_room_for_their_labels():
    # the widest tick of the sweep chart, $2,937.52/month, starts inside the SVG
    page = render_html(typed(_weights_sweep()))
    chart = page.split('aria-label="cost vs weights"')[1].split("</svg>")[0]
    for x, label in re.findall(r'<text x="([0-9.]+)"[^>]*text-anchor="end">([^<]+)</text>', chart):
        assert float(x) - 7.2 * len(label) >= 0, (x, label)


# ----------------------------------------------------------------------------- Chromium


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA PNG (what Chromium writes) into rows of raw pixels."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and colour in (2, 6) and interlace == 0
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            corner = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, bpp, rows


def _run(binary: str, profile: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=180, check=False,
    )


# Added to a copy of the page only (the report itself has no script): after layout, the
# box of every SVG text against its SVG's, written into the DOM for --dump-dom to print.
_MEASURE = """<script>
addEventListener("load", () => {
  const out = [];
  for (const svg of document.querySelectorAll("svg")) {
    const w = svg.width.baseVal.value, h = svg.height.baseVal.value;
    for (const t of svg.querySelectorAll("text")) {
      const b = t.getBBox();
      if (b.x < -0.5 || b.y < -0.5 || b.x + b.width > w + 0.5 || b.y + b.height > h + 0.5)
        out.push([svg.getAttribute("aria-label"), t.textContent, b.x, b.x + b.width, w]);
    }
  }
  const pre = document.createElement("pre");
  pre.id = "clipped";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""

requires_chromium = pytest.mark.skipif(
    _chromium() is None, reason="no chromium binary on this machine (install: apt-get install chromium)")


@pytest.mark.slow
@requires_chromium
@pytest.mark.parametrize("build", [_fleet, _weights_sweep, _scheduled])
def test_no_svg_text_is_clipped_in_chromium(tmp_path, build):
    page = tmp_path / "measured.html"
    page.write_text(render_html(typed(build())).replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
    dom = _run(_chromium(), str(tmp_path / "profile"), "--dump-dom", page.as_uri()).stdout
    found = re.search(r'<pre id="clipped">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    assert json.loads(found.group(1).replace("&quot;", '"')) == []


@pytest.mark.slow
@requires_chromium
def test_report_renders_in_headless_chromium(tmp_path):
    data = _scheduled()
    page = tmp_path / "report.html"
    page.write_text(render_html(typed(data)), encoding="utf-8")
    png = tmp_path / "shot.png"
    binary = _chromium()
    shot = _run(binary, str(tmp_path / "profile1"), "--enable-logging=stderr", "--v=0",
                f"--screenshot={png}", "--window-size=1280,2400", page.as_uri())
    assert png.exists(), shot.stderr[-2000:]
    # a page with no script and no fetch has no console messages and no failed loads
    assert not re.search(r"CONSOLE|Uncaught|Failed to load resource|net::ERR_", shot.stderr), shot.stderr

    width, bpp, rows = _png_pixels(png.read_bytes())
    background = rows[0][:3]
    painted = sum(1 for row in rows for x in range(0, len(row), bpp) if row[x:x + 3] != background)
    assert painted > 0.02 * width * len(rows)  # more than a blank page
    colours = {row[x:x + 3] for row in rows[::4] for x in range(0, len(row), bpp * 4)}
    # on screen: run-rate runs (#4e79a7), the one-off job (#f28e2b), the service's hold
    # (#76b7b2) in the schedule, and the memory chart's optimizer (#e15759)
    for hex_colour in ("4e79a7", "f28e2b", "76b7b2", "e15759"):
        assert bytes.fromhex(hex_colour) in colours, hex_colour

    dom = _run(binary, str(tmp_path / "profile2"), "--dump-dom", page.as_uri()).stdout
    text = re.sub(r"<[^>]+>", " ", dom)
    for row in data["workloads"]:
        assert row["name"] in text
    for figure in ("$2,613.40/month", "$1,633.38/month", "$429.60 one-off", "$4,246.78/month",
                   "day 2 22:00 → day 3 03:00"):
        assert figure in text, figure


def test_builders_follow_the_contract():
    # Every key of the contract's workload row is present (the renderers rely on it).
    row = serve_row()
    for key in ("name", "kind", "scenario", "inputs", "fits", "gpu", "gpu_count", "nodes", "layout",
                "memory_per_gpu_bytes", "gpu_memory_bytes", "usable_memory_bytes", "hours", "cost",
                "host", "decided_by", "reasons", "alternatives", "billing", "cost_per_run",
                "cost_per_period", "schedule"):
        assert key in row and key in train_row()
    assert row["memory_per_gpu_bytes"]["total"] == sum(
        v for k, v in row["memory_per_gpu_bytes"].items() if k != "total")
    assert [name for name, _ in sweep_groups(typed(_fleet()).workloads)] == ["tune"]
