"""planner report: the page's content, its determinism, and how Chromium renders it."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib

import pytest

from planner.render.html import render_html
from planner.render.html import sweep_groups

from support.results import result, serve_row, train_row, typed


def _fleet() -> dict:
    return result([
        serve_row(),
        train_row(),
        train_row(name="tune", dataset_bytes=10**9, scenario={"dataset": "1GB"}, cost=10.0, count=2, nodes=1),
        train_row(name="tune", dataset_bytes=10**11, scenario={"dataset": "100GB"}, cost=900.0, count=16),
        train_row(name="tune", dataset_bytes=10**12, scenario={"dataset": "1TB"}, cost=0.0, fits=False),
    ])


def test_page_is_self_contained_and_deterministic():
    page = render_html(typed(_fleet()))
    assert page == render_html(typed(_fleet()))
    assert page.startswith("<!DOCTYPE html>")
    # nothing fetched: no script, no external reference of any kind
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=|url\(|@import|https?://(?!www\.w3\.org/2000/svg)""", page)


def test_page_holds_table_memory_cost_and_sweep_charts():
    page = render_html(typed(_fleet()))
    for text in ("chat-7b", "tune-70b", "tune [dataset=1GB]", "$734.38", "$1,432.00", "1×A10G",
                 "16×A100-80G", "TP8 DP2 ZeRO-3", "cost vs dataset", "GPUs vs dataset", "misses the deadline"):
        assert text in page
    # one stacked memory bar per row with a layout: the serve row has 5 components
    # (no gradients/optimizer), each training row 5 (no KV cache)
    assert page.count("<title>weights:") == 5
    assert page.count("<title>KV cache:") == 1
    # the usable-capacity line of chat-7b sits at 0.9 of its 24 GiB frame: the shared
    # scale is 80 GiB over 600 px, so 220 + 21.6/80*600 = 382
    assert '<line x1="382" y1="6" x2="382" y2="30"' in page
    # the sweep charts plot the fitting variants only: two cost points
    assert [name for name, _ in sweep_groups(typed(_fleet()).workloads)] == ["tune"]
    sweep = page.split('aria-label="cost vs dataset"')[1].split("</svg>")[0]
    assert sweep.count("<circle") == 2


def test_escapes_names():
    page = render_html(typed(result([serve_row(name="<b>x</b>")])))
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


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


@pytest.mark.skipif(_chromium() is None, reason="no chromium binary on this machine (install: apt-get install chromium)")
def test_report_renders_in_headless_chromium(tmp_path):
    data = _fleet()
    page = tmp_path / "report.html"
    page.write_text(render_html(typed(data)), encoding="utf-8")
    png = tmp_path / "shot.png"
    binary = _chromium()
    shot = _run(binary, str(tmp_path / "profile1"), "--enable-logging=stderr", "--v=0",
                f"--screenshot={png}", "--window-size=1200,1600", page.as_uri())
    assert png.exists(), shot.stderr[-2000:]
    # a page with no script and no fetch has no console messages and no failed loads
    assert not re.search(r"CONSOLE|Uncaught|Failed to load resource|net::ERR_", shot.stderr), shot.stderr

    width, bpp, rows = _png_pixels(png.read_bytes())
    background = rows[0][:3]
    painted = sum(1 for row in rows for x in range(0, len(row), bpp) if row[x:x + 3] != background)
    assert painted > 0.02 * width * len(rows)  # more than a blank page
    colours = {row[x:x + 3] for row in rows[::4] for x in range(0, len(row), bpp * 4)}
    # the chart colours are on screen: weights (#4e79a7), optimizer (#e15759), KV cache (#59a14f)
    for hex_colour in ("4e79a7", "e15759", "59a14f"):
        assert bytes.fromhex(hex_colour) in colours

    dom = _run(binary, str(tmp_path / "profile2"), "--dump-dom", page.as_uri()).stdout
    text = re.sub(r"<[^>]+>", " ", dom)
    for row in data["workloads"]:
        assert row["name"] in text
    for cost in ("$734.38", "$1,432.00", "$10.00", "$900.00"):
        assert cost in text


def test_builders_follow_the_contract():
    # Every key of the contract's workload row is present (the renderers rely on it).
    row = serve_row()
    for key in ("name", "kind", "scenario", "inputs", "fits", "gpu", "gpu_count", "nodes", "layout",
                "memory_per_gpu_bytes", "gpu_memory_bytes", "usable_memory_bytes", "hours", "cost",
                "host", "decided_by", "reasons", "alternatives"):
        assert key in row and key in train_row()
    assert row["memory_per_gpu_bytes"]["total"] == sum(
        v for k, v in row["memory_per_gpu_bytes"].items() if k != "total")
