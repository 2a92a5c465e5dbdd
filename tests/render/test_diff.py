"""planner diff on hand-built results: matching, deltas, causes, policy, views."""

from __future__ import annotations

import json
import os

import pytest

from planner.diff import Diff, git_reader, parse_threshold
from planner.diff import diff_results as typed_diff
from planner.result import Result
from planner.errors import PlanError, PlanImportError
from planner.render import diffview

from support.git import diff_row, git
from support.results import A10G, result, serve_row, train_row



def diff_results(old: dict, new: dict) -> Diff:
    """The diff of two results given as the JSON contract (built by hand in support.results)."""
    return typed_diff(Result.from_json(old), Result.from_json(new))

def test_more_users_needs_a_second_gpu():
    old = result([serve_row(users=3, count=1, cost=734.38), train_row()])
    new = result([serve_row(users=10, count=2, replicas=2, cost=1468.76), train_row()])
    diff = diff_results(old, new)
    chat = diff_row(diff, "chat-7b")
    assert chat["status"] == "changed"
    assert chat["old"]["gpu_count"] == 1 and chat["new"]["gpu_count"] == 2
    assert chat["delta"] == pytest.approx(734.38)
    assert chat["percent"] == pytest.approx(100.0)
    assert chat["causes"] == ["users 3 → 10"]
    assert diff_row(diff, "tune-70b")["status"] == "unchanged"
    # total: (734.38 + 1432) -> (1468.76 + 1432): +734.38, i.e. 734.38 / 2166.38 = 33.899...%
    assert diff.total.old == pytest.approx(2166.38)
    assert diff.total.delta == pytest.approx(734.38)
    assert diff.total.percent == pytest.approx(734.38 / 2166.38 * 100, rel=1e-6)


def test_price_change_is_named_on_the_rows_using_that_gpu():
    gpus_new = {"A10G": dict(A10G, price_per_hour=1.2), "A100-80G": result([])["gpus"]["A100-80G"]}
    old = result([serve_row(cost=734.38), train_row()])
    new = result([serve_row(cost=876.0), train_row()], gpus=gpus_new)
    diff = diff_results(old, new)
    assert diff_row(diff, "chat-7b")["causes"] == ["price A10G $1.006/h → $1.20/h"]
    assert diff_row(diff, "chat-7b")["delta"] == pytest.approx(141.62)
    assert diff_row(diff, "tune-70b")["status"] == "unchanged"
    assert diff.changes == ("price A10G $1.006/h → $1.20/h",)


def test_added_and_removed_workloads():
    old = result([serve_row(), train_row(name="old-run", cost=100.0)])
    new = result([serve_row(), train_row(name="new-run", cost=250.0)])
    diff = diff_results(old, new)
    added, removed = diff_row(diff, "new-run"), diff_row(diff, "old-run")
    assert (added["status"], added["old"], added["delta"], added["percent"]) == ("added", None, 250.0, None)
    assert (removed["status"], removed["new"], removed["delta"]) == ("removed", None, -100.0)
    assert diff.total.delta == pytest.approx(150.0)
    # new rows first in the new plan's order, removed rows after
    assert [r.name for r in diff.workloads] == ["chat-7b", "new-run", "old-run"]


def test_sweep_variants_match_by_scenario_and_dataset_changes_are_one_cause():
    def rows(big_bytes, big_cost):
        return [
            train_row(name="tune", dataset_bytes=10**9, scenario={"dataset": "1GB"}, cost=10.0),
            train_row(name="tune", dataset_bytes=big_bytes, scenario={"dataset": "100GB"}, cost=big_cost),
        ]
    old = result(rows(10**11, 900.0), total=900.0)
    new = result(rows(10**11, 900.0)[:1] + [train_row(name="tune", dataset_bytes=None, dataset_tokens=25 * 10**9,
                                                      scenario={"dataset": "100GB"}, cost=950.0)],
                 total=950.0)
    diff = diff_results(old, new)
    assert diff_row(diff, "tune", {"dataset": "1GB"})["status"] == "unchanged"
    big = diff_row(diff, "tune", {"dataset": "100GB"})
    assert big["causes"] == ["dataset 100GB → 25B tokens"]
    assert big["delta"] == pytest.approx(50.0)
    assert diff.to_json()["total"] == {"old": 900.0, "new": 950.0, "delta": 50.0, "percent": pytest.approx(5.555556)}


def test_deadline_change_moves_the_layout():
    old = result([train_row(deadline=72.0, count=16, cost=1432.0, hours=50.0)])
    new = result([train_row(deadline=24.0, count=48, dp=6, cost=1718.4, hours=20.0)])
    row = diff_row(diff_results(old, new), "tune-70b")
    assert row["causes"] == ["deadline 3.0 d → 24.0 h"]
    assert row["old"]["layout"]["dp"] == 2 and row["new"]["layout"]["dp"] == 6


def test_a_row_moved_by_other_gpus_names_them():
    # chat-7b moves from A10G to a newly offered L4 though none of its inputs changed.
    l4 = {"available": 4, "used": 1, "price_per_hour": 0.8, "memory_bytes": 24 * 2**30,
          "usable_bytes": 23193568051, "per_node": 8}
    old = result([serve_row()])
    new_gpus = dict(result([])["gpus"], L4=l4)
    new = result([serve_row(gpu="L4", cost=584.0)], gpus=new_gpus)
    row = diff_row(diff_results(old, new), "chat-7b")
    assert row["causes"] == ["L4 newly offered (4 available)"]


def test_a_row_moved_by_nothing_it_depends_on_says_so():
    old = result([serve_row()])
    new = result([serve_row(gpu="A100-80G", cost=1306.7)])
    new["gpus"] = old["gpus"]
    assert diff_row(diff_results(old, new), "chat-7b")["causes"] == [
        "no input of this workload changed: shared limits with other workloads"
    ]


def test_availability_and_budget_changes():
    old = result([train_row()], budget=5000.0)
    gpus = result([])["gpus"]
    gpus["A100-80G"] = dict(gpus["A100-80G"], available=None)
    new = result([train_row(count=32, dp=4, cost=1500.0, hours=26.2)], gpus=gpus, budget=2000.0)
    row = diff_row(diff_results(old, new), "tune-70b")
    assert row["causes"] == ["availability A100-80G 64 → unlimited", "plan budget $5,000.00 → $2,000.00"]


def test_threshold_parsing():
    assert parse_threshold("500").value == 500.0 and not parse_threshold("500").is_percent
    assert parse_threshold("10%").is_percent and parse_threshold("10%").value == 10.0
    assert parse_threshold(" 2.5 % ").value == 2.5
    for bad in ("", "-5", "ten", "5%%", "$5", "5 USD"):
        with pytest.raises(PlanError):
            parse_threshold(bad)


@pytest.mark.parametrize(
    "threshold, exceeded",
    [("734", True), ("734.38", False), ("800", False), ("33%", True), ("34%", False), ("0", True)],
)
def test_threshold_against_a_rise_of_734_38_or_33_9_percent(threshold, exceeded):
    old = result([serve_row(cost=734.38), train_row()])
    new = result([serve_row(users=10, count=2, replicas=2, cost=1468.76), train_row()])
    assert parse_threshold(threshold).exceeded(diff_results(old, new)) is exceeded


def test_threshold_from_nothing():
    diff = diff_results(result([]), result([serve_row(cost=10.0)]))
    assert diff.total.percent is None
    assert parse_threshold("1000%").exceeded(diff)
    assert not parse_threshold("20").exceeded(diff)


def test_views_are_deterministic_and_hold_the_numbers():
    old = result([serve_row(cost=734.38), train_row()])
    new = result([serve_row(users=10, count=2, replicas=2, cost=1468.76), train_row()])
    diff = diff_results(old, new)
    table = diffview.render_table(diff)
    assert "1×A10G → 2×A10G" in table and "+$734.38/month (+100.0%)" in table and "users 3 → 10" in table
    assert "1 workload unchanged" in table
    assert "run rate: $734.38/month → $1,468.76/month (+$734.38/month, +100.0%)" in table
    assert "one-off: $1,432.00 → $1,432.00 (±$0.00, ±0.0%)" in table
    assert "total for one month (730 h): $2,166.38 → $2,900.76 (+$734.38, +33.9%)" in table
    md = diffview.render_markdown(diff)
    assert "**Run rate will increase by $734.38/month (+100.0%)**: $734.38/month → $1,468.76/month" in md
    assert "**One-off cost will stay the same**: $1,432.00" in md
    assert "Total for one month (730 h): $2,166.38 → $2,900.76 (+$734.38, +33.9%)" in md
    assert "| ~ | `chat-7b` | 1×A10G → 2×A10G | TP1 int4 → TP1 ×2 replicas int4 |" in md
    assert md == diffview.render_markdown(diff_results(old, new))
    data = json.loads(diffview.render_json(diff))
    assert data["total"]["delta"] == pytest.approx(734.38)
    assert "tune-70b" not in table.split("1 workload unchanged")[0]
    assert "tune-70b" in diffview.render_table(diff, show_all=True)


def test_run_rate_and_one_off_are_stated_apart():
    # A month that adds a second service and drops a one-off pretrain: the total falls, but
    # the monthly bill rises -- the review says both (was: "cost will decrease by 9.8%").
    old = result([serve_row(cost=734.38), train_row(name="pretrain", cost=5000.0)])
    new = result([serve_row(cost=734.38), serve_row(name="search", cost=1468.76, count=2)])
    diff = diff_results(old, new)
    assert (diff.run_rate.old, diff.run_rate.new, diff.run_rate.delta) == (734.38, 2203.14, 1468.76)
    assert (diff.one_off.old, diff.one_off.new, diff.one_off.delta) == (5000.0, 0.0, -5000.0)
    assert diff.total.delta == pytest.approx(-3531.24)
    md = diffview.render_markdown(diff)
    assert "**Run rate will increase by $1,468.76/month (+200.0%)**: $734.38/month → $2,203.14/month" in md
    assert "**One-off cost will decrease by $5,000.00 (-100.0%)**: $5,000.00 → $0.00" in md
    assert "Total for one month (730 h): $5,734.38 → $2,203.14 (-$3,531.24, -61.6%)" in md
    search, pretrain = diff_row(diff, "search"), diff_row(diff, "pretrain")
    assert (search["run_rate_delta"], search["one_off_delta"]) == (1468.76, 0.0)
    assert (pretrain["run_rate_delta"], pretrain["one_off_delta"]) == (0.0, -5000.0)
    table = diffview.render_table(diff)
    assert "+$1,468.76/month" in table and "-$5,000.00" in table and "$5,000.00 one-off" in table
    # --fail-above watches either part
    assert parse_threshold("run-rate:100%").exceeded(diff) and not parse_threshold("run-rate:250%").exceeded(diff)
    assert parse_threshold("run-rate:1468").exceeded(diff) and not parse_threshold("run-rate:1469").exceeded(diff)
    assert not parse_threshold("one-off:0").exceeded(diff) and not parse_threshold("0").exceeded(diff)


def test_threshold_targets():
    assert parse_threshold("run-rate:10%") == type(parse_threshold("1"))(10.0, True, "run-rate")
    assert parse_threshold(" one-off: 500 ").target == "one-off"
    assert parse_threshold("total:5%").target == "total"
    for bad in ("runrate:10%", "run-rate:", "one-off:-5", ":5"):
        with pytest.raises(PlanError):
            parse_threshold(bad)


def test_a_job_shows_its_repeats_and_schedule_moving():
    before = train_row(name="lora", cost=20.0, hours=5.0)
    before["schedule"] = [{"start_hours": 0.0, "end_hours": 5.0}]
    after = train_row(name="lora", cost=86.9, hours=5.0)
    after.update(billing="run-rate", every_hours=168.0, runs_per_period=4.34524, cost_per_run=20.0,
                 cost_per_period=86.9, schedule=[{"start_hours": 28.0 + 168 * k, "end_hours": 33.0 + 168 * k}
                                                 for k in range(4)])
    after["inputs"] = dict(after["inputs"], every_hours=168.0)
    diff = diff_results(result([before], window=730.0), result([after], window=730.0))
    row = diff_row(diff, "lora")
    assert row["schedule"] == ["repeats once → every 7.0 d", "runs in the window 1 → 4",
                               "starts day 1 00:00 → day 2 04:00"]
    # each side's cost as it counted then; the change between the two is a plain amount
    assert "$20.00 one-off → $86.90/month  +$66.90 (+334.5%)" in diffview.render_table(diff)
    assert row["causes"] == ["every unset → 7.0 d"]
    assert (row["run_rate_delta"], row["one_off_delta"]) == (86.9, -20.0)


def test_markdown_escapes_pipes():
    old = result([serve_row(name="a|b")])
    new = result([serve_row(name="a|b", users=4)])
    assert "`a\\|b`" in diffview.render_markdown(diff_results(old, new))


# ----------------------------------------------------------------------------- git reader


@pytest.fixture()
def repo(tmp_path):
    (tmp_path / "plans").mkdir()
    (tmp_path / "common").mkdir()
    (tmp_path / "plans" / "fleet.plan").write_text('import "../common/gpus.plan"\n# v1\n')
    (tmp_path / "common" / "gpus.plan").write_text("# gpus v1\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "v1")
    (tmp_path / "plans" / "fleet.plan").write_text('import "../common/gpus.plan"\n# v2\n')
    (tmp_path / "common" / "gpus.plan").write_text("# gpus v2\n")
    (tmp_path / "plans" / "new.plan").write_text("# only in the working tree\n")
    return tmp_path


def test_git_reader_reads_the_file_and_its_imports_at_the_revision(repo, monkeypatch):
    monkeypatch.chdir(repo / "plans")
    reader, label = git_reader("HEAD", "fleet.plan")
    assert label == "HEAD:plans/fleet.plan"
    assert reader("fleet.plan") == 'import "../common/gpus.plan"\n# v1\n'
    assert reader(os.path.join(".", "../common/gpus.plan")) == "# gpus v1\n"
    assert reader(str(repo / "common" / "gpus.plan")) == "# gpus v1\n"


def test_git_reader_errors(repo, tmp_path_factory):
    plan = str(repo / "plans" / "fleet.plan")
    with pytest.raises(PlanImportError, match="unknown revision 'no-such-rev'"):
        git_reader("no-such-rev", plan)
    with pytest.raises(PlanImportError, match="plans/new.plan does not exist at revision HEAD"):
        git_reader("HEAD", str(repo / "plans" / "new.plan"))
    reader, _ = git_reader("HEAD", plan)
    with pytest.raises(PlanImportError, match="does not exist at revision HEAD"):
        reader(str(repo / "common" / "missing.plan"))
    outside = tmp_path_factory.mktemp("elsewhere") / "x.plan"
    outside.write_text("")
    with pytest.raises(PlanImportError, match="outside the git repository"):
        reader(str(outside))
    with pytest.raises(PlanImportError, match="not inside a git repository"):
        git_reader("HEAD", str(outside))
    with pytest.raises(PlanImportError, match="unknown revision '--output=x'"):
        git_reader("--output=x", plan)


def test_same_bytes_other_tokenization_is_named():
    old = result([train_row(dataset_bytes=10**9, dataset_tokens=250 * 10**6)])
    new = result([train_row(dataset_bytes=10**9, dataset_tokens=333 * 10**6, cost=1900.0)])
    assert diff_row(diff_results(old, new), "tune-70b")["causes"] == ["dataset 1GB: 250M tokens → 333M tokens"]


def test_status_change_is_shown_above_the_table():
    old = result([train_row()])
    new = result([train_row(fits=False)], status="infeasible")
    diff = diff_results(old, new)
    table = diffview.render_table(diff)
    assert "status optimal → infeasible" in table
    assert "16×A100-80G → 16×A100-80G (misses the deadline)" in table
    assert "> **status optimal → infeasible**" in diffview.render_markdown(diff)
