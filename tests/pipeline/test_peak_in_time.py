"""The checker's peak of GPUs held at once in a window (verify_period.peak_at_starts), a sweep
in O(n log n), against the definition: at each start time t, the spans with start <= t < end,
a workload's variants counted at their largest."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.verify_period import peak_at_starts


def by_definition(spans):
    peak = 0
    for t in {s for s, _, _, _ in spans}:
        per: dict[str, int] = {}
        for s, e, name, n in spans:
            if s <= t < e:
                per[name] = max(per.get(name, 0), n)
        peak = max(peak, sum(per.values()))
    return peak


# few distinct times and names, so that spans touch, nest, end where others start and
# share workloads
SPAN = st.tuples(st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 3.0]), st.sampled_from([0.0, 0.5, 1.0, 2.0, 2.5, 4.0]),
                 st.sampled_from(["a", "b", "c"]), st.integers(0, 16))


@settings(max_examples=300, deadline=None)
@given(st.lists(SPAN, max_size=14))
def test_the_sweep_is_the_definition(spans):
    assert peak_at_starts(spans) == by_definition(spans)


def test_a_workloads_variants_count_at_their_largest_and_ends_are_open():
    spans = [(0.0, 2.0, "tune", 8), (0.0, 2.0, "tune", 16), (1.0, 3.0, "chat", 4), (2.0, 3.0, "tune", 2)]
    # at 0: tune's largest 16; at 1: 16 + chat 4; at 2 the first two have ended: 2 + 4
    assert peak_at_starts(spans) == 20
    assert peak_at_starts([]) == 0
