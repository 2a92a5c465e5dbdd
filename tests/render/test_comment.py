"""planner diff's markdown fitted under a pull-request comment's size limit (render/comment.py)."""

from __future__ import annotations

import re

import pytest

from planner.diff import diff_results
from planner.render import diffview
from planner.render.comment import GITHUB_COMMENT_LIMIT, fit
from planner.result import Result
from support.results import result, serve_row


def _render(diff, every):
    return diffview.render_markdown(diff, show_all=every)


def _big_diff(rows: int = 900, unchanged_every: int = 5):
    """``rows`` services; every ``unchanged_every``-th keeps its cost, the others rise by i % 11 + 1."""
    name = "service-{:04d}-" + "x" * 40
    old = result([serve_row(name=name.format(i), cost=100.0 + i) for i in range(rows)])
    new = result([serve_row(name=name.format(i), cost=100.0 + i + (0 if i % unchanged_every == 0 else i % 11 + 1),
                            users=3 if i % unchanged_every == 0 else 4) for i in range(rows)])
    return diff_results(Result.from_json(old), Result.from_json(new))


def _listed(text: str) -> list[str]:
    """The services listed, once each (a row may be named in more than one table)."""
    return list(dict.fromkeys(re.findall(r"`(service-\d{4})-x+`", text)))


def test_a_small_diff_is_left_whole():
    diff = _big_diff(rows=20)
    assert fit(diff, _render) == _render(diff, False)


def test_a_large_diff_keeps_the_rows_that_move_the_cost_most():
    diff = _big_diff()
    full = _render(diff, False)
    assert len(full) > GITHUB_COMMENT_LIMIT
    text = fit(diff, _render)
    assert len(text) <= GITHUB_COMMENT_LIMIT
    changed = [r for r in diff.workloads if r.status == "changed"]
    shown = _listed(text)
    left_out = int(re.search(r"([\d,]+) of ([\d,]+) changed rows", text).group(1).replace(",", ""))
    assert len(shown) + left_out == len(changed) == 720
    # every row shown moves the cost at least as much as every row left out
    delta = {r.name[:12]: abs(r.delta) for r in changed}
    hidden = set(delta) - set(shown)
    assert min(delta[n] for n in shown) >= max(delta[n] for n in hidden)
    assert shown == sorted(shown)  # in the diff's own order
    # the headline still covers every row, and the unchanged rows are counted
    assert text.split("\n")[2] == full.split("\n")[2]
    assert "180 workloads unchanged." in text


def test_with_all_the_unchanged_rows_go_first():
    diff = _big_diff(rows=200, unchanged_every=2)  # 100 unchanged rows listed by --all
    without = _render(diff, False)
    assert len(_render(diff, True)) > len(without) + 5_000
    assert fit(diff, _render, show_all=True, limit=len(without) + 10) == without


def test_a_hard_cap_when_even_few_rows_do_not_fit():
    diff = _big_diff(rows=50)
    # (the headline states the run rate, the one-offs and the total: 1,200 characters hold a row)
    text = fit(diff, _render, limit=1_200)
    assert len(text) <= 1_200
    assert "Not everything is shown" in text and "of 40 changed rows" in text
    # not even one row fits: cut at a line, the headline kept, the note last
    text = fit(diff, _render, limit=450)
    assert len(text) <= 450 and text.startswith("### planner cost estimate")
    assert "**Run rate will increase by $226.00/month" in text and text.rstrip().endswith("lists every row.")


@pytest.mark.slow  # solves two plans of 12 services, three times
def test_planner_diff_max_chars(tmp_path):
    from support.cli import run_cli

    def plan(users: int) -> str:
        services = "".join(f'serve "service-{i:02d}-{"y" * 30}" {{ model = "Llama-3.1-8B"  users = {users}'
                           '  context = 4k }\n' for i in range(12))
        return 'import "std"\ngpu "L4" { available = 64 }\n' + services

    (tmp_path / "old.plan").write_text(plan(4))
    (tmp_path / "new.plan").write_text(plan(64))
    code, out, err = run_cli("diff", str(tmp_path / "old.plan"), str(tmp_path / "new.plan"),
                             "--format", "markdown", "--max-chars", "1500")
    assert code == 0, err
    assert len(out) <= 1500 and "Not everything is shown" in out and "of 12 changed rows" in out
    code, whole, _ = run_cli("diff", str(tmp_path / "old.plan"), str(tmp_path / "new.plan"), "--format", "markdown")
    assert len(whole) > 1500 and "Not everything" not in whole
    code, _, err = run_cli("diff", str(tmp_path / "old.plan"), str(tmp_path / "new.plan"), "--max-chars", "10")
    assert code == 2 and "--max-chars" in err
