"""A pool scheduled in time (Problem.window): hand-worked cases, and CP-SAT against the
exhaustive reference (tests/oracles/brute.py) on small random pools and jobs."""

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracles import brute
from planner.choose.cpsat import Item, Option, Problem, solve
from planner.choose.types import LimitId, Runs, Window
from planner.explain import binding_sentence

GPUS = ("A", "B")


def job(name, *options, group=None):
    return Item(name=name, group=group or name, options=tuple(options))


def opt(gpu, gpus, cost, hours, key=0):
    return Option(gpu=gpu, gpus=gpus, cost=cost, hours=hours, key=(key,))


def test_two_jobs_that_cannot_overlap_run_one_after_the_other():
    # 8 GPUs, two 10-hour jobs of 8 GPUs: all at once they need 16 (infeasible); in a day
    # they run back to back, the first from 0 h, the second from 10 h.
    a = job("a", opt("A", 8, 80.0, 10.0))
    b = job("b", opt("A", 8, 80.0, 10.0))
    assert solve(Problem((a, b), {"A": 8}, None, "cost")).status == "infeasible"
    day = Window(24.0, {"a": Runs(((0.0, 24.0),)), "b": Runs(((0.0, 24.0),))})
    r = solve(Problem((a, b), {"A": 8}, None, "cost", day))
    assert r.status == "optimal" and r.picks == {"a": 0, "b": 0}
    assert sorted(r.starts.values()) == [(0.0,), (10.0,)]
    (use,) = r.binding
    assert (use.limit, use.used, use.available, use.at_hours) == (LimitId.availability("A"), 8, 8, 0.0)
    assert binding_sentence(use, "USD") == "availability A: 8 of 8 in use at day 1 00:00 by a"


def test_a_deadline_forces_the_dearer_option_when_the_pool_is_busy():
    # A service holds 4 of 8 throughout; job a needs 8 for 2 h or 4 for 5 h (dearer), due
    # at 6 h: the 8-GPU run cannot start at all beside the service, so a takes the 4-GPU one.
    serve = job("s", opt("A", 4, 100.0, 24.0))
    a = job("a", opt("A", 8, 16.0, 2.0), opt("A", 4, 20.0, 5.0, key=1))
    window = Window(24.0, {"a": Runs(((0.0, 6.0),))})
    r = solve(Problem((serve, a), {"A": 8}, None, "cost", window))
    assert r.status == "optimal" and r.picks == {"a": 1, "s": 0}
    assert r.starts == {"a": (0.0,)}
    (use,) = r.binding
    # the first choice (8 GPUs for 2 h) beside the service would need 12 at once
    assert (use.used, use.first_choices_need, use.at_hours) == (8, 12, 0.0)


def test_recurring_runs_each_start_in_their_slot():
    # A nightly job (3 runs, each released at 20 h of its day, due 8 h later) beside a day job
    # that needs the whole pool for 12 h: the day job fits between the nights.
    nightly = job("n", opt("A", 4, 10.0, 6.0))
    day = job("d", opt("A", 8, 10.0, 12.0))
    slots = tuple((20.0 + 24 * k, 28.0 + 24 * k) for k in range(3))
    window = Window(96.0, {"n": Runs(slots), "d": Runs(((0.0, 96.0),))})
    r = solve(Problem((nightly, day), {"A": 8}, None, "cost", window))
    assert r.status == "optimal"
    assert r.starts == {"d": (0.0,), "n": (20.0, 44.0, 68.0)}
    assert brute.valid_schedule(Problem((nightly, day), {"A": 8}, None, "cost", window), r.picks, r.starts) == []


def test_a_window_too_busy_gives_the_availability_conflict_and_the_least_it_needs():
    # Two 8-GPU jobs of 10 h, both due by 12 h: they must overlap, 16 at once.
    a = job("a", opt("A", 8, 80.0, 10.0))
    b = job("b", opt("A", 8, 80.0, 10.0))
    window = Window(24.0, {"a": Runs(((0.0, 12.0),)), "b": Runs(((0.0, 12.0),))})
    r = solve(Problem((a, b), {"A": 8}, None, "cost", window))
    assert r.status == "infeasible"
    (conflict,) = r.conflicts
    assert (conflict.limit, conflict.available, conflict.needs_at_least) == (LimitId.availability("A"), 8, 16)


def test_sweep_variants_are_scheduled_as_their_longest_and_largest():
    # Variants t[1] (2 GPUs, 3 h) and t[2] (6 GPUs, 1 h) of one group share one run that
    # holds 6 GPUs for 3 h; beside a job of 4 GPUs for 3 h in a 4-hour window, 8 GPUs
    # are not enough at once but the two cannot run one after the other either.
    v1 = job("t[1]", opt("A", 2, 1.0, 3.0), group="t")
    v2 = job("t[2]", opt("A", 6, 1.0, 1.0), group="t")
    other = job("o", opt("A", 4, 1.0, 3.0))
    window = Window(4.0, {"t[1]": Runs(((0.0, 4.0),)), "t[2]": Runs(((0.0, 4.0),)),
                          "o": Runs(((0.0, 4.0),))})
    assert solve(Problem((v1, v2, other), {"A": 8}, None, "cost", window)).status == "infeasible"
    assert solve(Problem((v1, v2, other), {"A": 10}, None, "cost", window)).status == "optimal"
    longer = Window(6.0, {"t[1]": Runs(((0.0, 6.0),)), "t[2]": Runs(((0.0, 6.0),)),
                          "o": Runs(((0.0, 6.0),))})
    r = solve(Problem((v1, v2, other), {"A": 8}, None, "cost", longer))
    assert r.status == "optimal" and sorted(r.starts.values()) == [(0.0,), (3.0,)]


def test_sweep_variants_share_a_start_and_each_meets_its_own_due():
    # t[a] runs 3 h due at 3 h, t[b] 5 h due at 8 h: the group starts at 0 (t[a]'s due) and
    # holds 2 GPUs for 5 h (t[b]'s run); o needs the whole pool of 4 for 2 h after it.
    ta = job("t[a]", opt("A", 2, 1.0, 3.0), group="t")
    tb = job("t[b]", opt("A", 2, 1.0, 5.0), group="t")
    o = job("o", opt("A", 4, 1.0, 2.0))
    runs = {"t[a]": Runs(((0.0, 3.0),)), "t[b]": Runs(((0.0, 8.0),)), "o": Runs(((0.0, 8.0),))}
    r = solve(Problem((ta, tb, o), {"A": 4}, None, "cost", Window(8.0, runs)))
    assert r.status == "optimal" and r.starts == {"o": (5.0,), "t": (0.0,)}
    tighter = dict(runs, o=Runs(((0.0, 6.0),)))
    assert solve(Problem((ta, tb, o), {"A": 4}, None, "cost", Window(8.0, tighter))).status == "infeasible"


def test_a_run_rounded_up_to_whole_minutes_must_still_fit_its_slot():
    # 2 h 0.6 min rounds up to 121 steps: it does not fit a slot of 2 h.
    a = job("a", opt("A", 1, 1.0, 2.01))
    tight = Window(24.0, {"a": Runs(((1.0, 3.0),))})
    assert solve(Problem((a,), {"A": 1}, None, "cost", tight)).status == "infeasible"
    assert solve(Problem((a,), {"A": 1}, None, "cost", replace(tight, runs={"a": Runs(((1.0, 3.1),))}))).status == "optimal"


# ----------------------------------------------------------------------------- brute force

options = st.builds(
    Option,
    gpu=st.sampled_from(GPUS),
    gpus=st.integers(1, 4),
    cost=st.integers(0, 20).map(lambda c: c / 4),
    hours=st.integers(0, 6).map(lambda h: h / 2),
    key=st.tuples(st.integers(0, 2)),
)


@st.composite
def windowed(draw, contended: bool = False):
    """Up to 3 items (two may be variants of one group) with up to 3 options, a window of
    4-8 h, each group throughout (a service) or 1-2 runs with random slots; at most 4 runs
    in all, so that the reference can try every order. ``contended``: one GPU type, few of
    it, every group with runs, so that the order in time decides."""
    hours = draw(st.sampled_from([4.0, 6.0, 8.0]))
    n = draw(st.integers(2 if contended else 1, 3))
    items = []
    for i in range(n):
        group = draw(st.sampled_from(["g", f"w{i}", f"w{i}"]))
        mine = draw(st.lists(options, min_size=1, max_size=3))
        if contended:
            mine = [replace(o, gpu="A", hours=max(o.hours, 0.5)) for o in mine]
        items.append(Item(f"w{i}", group, tuple(mine)))
    runs, total = {}, 0
    for group in sorted({i.group for i in items}):
        count = draw(st.integers(0, 2)) if total < 3 else 0
        if count == 0 and (contended or draw(st.booleans())):
            count = 1
        if count == 0:
            continue  # throughout
        releases = [draw(st.integers(0, int(hours))) / 2 for _ in range(count)]  # first half
        for item in (i for i in items if i.group == group):  # a variant's dues are its own
            dues = [draw(st.integers(int(r * 2) + 2, int(hours * 2))) / 2 for r in releases]
            runs[item.name] = Runs(tuple(zip(releases, dues)))
        total += count
    available = {g: draw(st.one_of(st.none(), st.integers(1, 5), st.integers(1, 5))) for g in GPUS}
    if contended:
        available = {"A": draw(st.integers(2, 6)), "B": None}
    budget = draw(st.one_of(st.none(), st.none(), st.integers(0, 20).map(float)))
    objective = draw(st.sampled_from(["cost", "gpus", "hours"]))
    return Problem(tuple(items), available, budget, objective, Window(hours, runs))


SETTINGS = settings(max_examples=120, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.one_of(windowed(), windowed(contended=True)))
def test_cpsat_matches_brute_force_in_time(p):
    got, ex = solve(p), brute.exhaustive(p)
    if ex.best is None:
        assert got.status == "infeasible" and got.picks == {}
        return
    assert got.status == "optimal", got
    assert brute.solve(p).objective_value == got.objective_value
    assert got.picks in ex.optima
    assert brute.valid_schedule(p, got.picks, got.starts) == []


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(windowed())
def test_conflicts_in_time_are_a_minimal_core(p):
    got = solve(p)
    if got.status != "infeasible" or any(not i.options for i in p.items):
        return
    if brute.exhaustive(p, set()).best is None:
        # some run fits no slot: no limit is to blame (the search never offers such a run)
        assert got.conflicts == ()
        return
    assert frozenset(str(c.limit) for c in got.conflicts) in brute.minimal_cores(p)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(windowed())
def test_a_window_never_needs_more_than_all_at_once(p):
    # Holding every GPU for the whole window is one schedule among many: whatever fits all
    # at once fits in time, at no higher optimum.
    at_once = solve(replace(p, window=None))
    if at_once.status != "optimal":
        return
    timed = replace(p, window=Window(p.window.hours, {i: Runs(((0.0, p.window.hours),))
                                                      for i in p.window.runs}))
    # every run given the whole window, at most the all-at-once length per option
    longest = max(o.hours for i in p.items for o in i.options)
    if longest > p.window.hours:
        return
    got = solve(timed)
    assert got.status == "optimal"
    assert got.objective_value <= at_once.objective_value
