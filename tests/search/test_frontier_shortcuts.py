"""The training frontier's shortcuts give the numbers of the plain estimate, bit for bit.

planner.search.frontier times its micro-batch climbs through ``MemoryProbe.seconds`` (the
compute and exposed communication kept by what they read, shared by layouts that differ in
offload or a ZeRO stage below 3), takes memory from the parts ``MemoryProbe.parts`` keeps,
reaches a climb's sizes by the activations' part alone (``_reach``), adds the least
overheads of a GPU count to its floors (``candidates.overheads_floor``), takes each climb's
cheap floor once per (EP, recomputation, interleaving) at a shape, and re-times the kept
points with a variant's own tokens from the walk's states and memory. Each is checked here
against the plain path on random workloads and GPUs (the plans of test_frontier_bounds),
layouts evaluated in the walk's order through one probe so that every kept value is read
back for other layouts; test_frontier_bounds compares whole frontiers with the one-pass
walk.
"""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, example, given, settings

from planner.estimate import calibration, evaluate_train, rent
from planner.estimate import collectives as C
from planner.estimate.common import build
from planner.estimate.train_floor import TimeFloors
from planner.estimate.train_probe import MemoryProbe
from planner.estimate.types import Layout
from planner.search.candidates import (
    _run_bytes, overheads_floor, run_bytes, train_candidate, train_fits, train_seconds,
)
from planner.search.frontier import Climb, _reach, _Walk
from search.test_frontier_bounds import _frontier_pairs, _layouts, plans

EXAMPLES = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Fixed cases beside the random ones: climbs that stop short of their largest size (most
# random plans fit every size), and a mixture of experts with EP > 1 at a shape.
SHORT_REACH = ('import "std"\nplan "bounds" { objective = cost }\nmodel "m" { layers = 8  hidden = 4096  '
               'heads = 32  kv_heads = 8  ffn = 16384  vocab = 32000 }\nfinetune "w" { model = "m"  '
               'dataset = 300MB  seq_len = 6144  batch = 256  method = lora }\ngpu "L4" { available = 8 }\n')
EXPERTS = ('import "std"\nplan "bounds" { objective = cost }\nmodel "m" { layers = 4  hidden = 1024  heads = 16  '
           'kv_heads = 4  ffn = 4096  vocab = 32000  experts = 16  experts_per_token = 2  expert_ffn = 1024 }\n'
           'pretrain "w" { model = "m"  dataset = 300MB  seq_len = 2048  batch = 64 }\n'
           'gpu "A100-80G" { available = 24 }\ngpu "L4" { available = 64 }\n')


def _sized(base: Layout, sizes):
    for mb in sizes:
        yield build(Layout, **{**base.__dict__, "micro_batch": mb})


@settings(EXAMPLES, max_examples=10)
@given(plans())
@example(SHORT_REACH)
@example(EXPERTS)
def test_probe_times_and_memory_are_the_estimates(text):
    for variant, offer, order, cap, job in _frontier_pairs(text):
        probe = MemoryProbe(job, offer.spec)
        for base, sizes in _layouts(variant, offer, job, min(cap, 8)):
            for layout in _sized(base, sizes):
                estimate = evaluate_train(job, layout, offer.spec)
                assert probe.seconds(layout) == estimate.seconds, (text, layout)
                assert probe.total(layout) == (estimate.memory.total, estimate.memory.host)
                candidate = train_candidate(variant, offer, order, job, layout)
                seconds = train_seconds(variant, offer, job, layout.gpus, estimate.seconds)
                assert seconds == candidate.seconds, (text, layout)
                # the least overheads of the count: what a floor adds, here and with the
                # variant's own (far fewer) tokens, where a run saves once
                assert estimate.seconds + overheads_floor(variant, offer, layout.gpus) <= seconds
                own = evaluate_train(variant.train_job, layout, offer.spec).seconds
                assert own + overheads_floor(variant, offer, layout.gpus) \
                    <= train_seconds(variant, offer, variant.train_job, layout.gpus, own)
                assert train_fits(probe, layout)[1] == candidate.fits_memory, (text, layout)


@EXAMPLES
@given(plans())
def test_a_variants_own_tokens_reuse_the_walks_memory(text):
    for variant, offer, order, cap, job in _frontier_pairs(text):
        probe = MemoryProbe(job, offer.spec)
        own = dataclasses.replace(job, tokens=job.tokens / 7.0)
        for base, sizes in _layouts(variant, offer, job, min(cap, 16)):
            for layout in _sized(base, sizes):
                known = probe.known(layout)
                assert evaluate_train(own, layout, offer.spec, known) \
                    == evaluate_train(own, layout, offer.spec), (text, layout)
                assert train_candidate(variant, offer, order, own, layout, known) \
                    == train_candidate(variant, offer, order, own, layout), (text, layout)


@EXAMPLES
@given(plans())
@example(SHORT_REACH)
def test_reach_stops_where_the_memory_first_does_not_fit(text):
    for variant, offer, _, cap, job in _frontier_pairs(text):
        probe = MemoryProbe(job, offer.spec)
        for base, sizes in _layouts(variant, offer, job, min(cap, 16)):
            layouts = list(_sized(base, sizes))
            if not train_fits(probe, layouts[0])[1]:
                continue  # not a climb: its smallest size does not fit
            reached = len(sizes)
            for i, layout in enumerate(layouts[1:], 1):
                if not train_fits(MemoryProbe(job, offer.spec), layout)[1]:
                    reached = i
                    break
            climb = Climb(0, layouts[0], sizes, 0.0)
            assert list(_reach(probe, climb)) == list(sizes[:reached]), (text, base)


@EXAMPLES
@given(plans())
@example(EXPERTS)
def test_each_climbs_cheap_floor_is_its_own(text):
    for variant, offer, _, cap, job in _frontier_pairs(text):
        probe = MemoryProbe(job, offer.spec)
        floors = TimeFloors(job, offer.spec, probe.states)
        walk = _Walk(variant, offer.spec, job, probe, floors.cheap)
        walk.run(min(cap, 64))
        fresh = TimeFloors(job, offer.spec)
        for climb in walk.climbs:
            assert climb.floor == fresh.cheap(climb.layout, climb.sizes), (text, climb.layout)


@EXAMPLES
@given(plans())
def test_links_are_the_groups_timing_figures(text):
    for variant, offer, _, cap, job in _frontier_pairs(text):
        fabric = calibration.fabric(offer.spec, job.stack)
        for base, _ in _layouts(variant, offer, job, min(cap, 64)):
            plain = C.groups(base, fabric.per_node)
            expected = C.Groups(*(C.link(g, fabric) for g in (
                plain.tensor, plain.context, plain.data, plain.shard, plain.replica,
                plain.expert, plain.expert_data, plain.pipeline)))
            assert C.links(base, fabric) == expected, (text, base)


@EXAMPLES
@given(plans(), plans())
def test_run_bytes_are_each_variants_own(first, second):
    variants = [v for text in (first, second) for v, *_ in _frontier_pairs(text)]
    for variant in variants + variants[::-1]:
        assert run_bytes(variant) == _run_bytes.__wrapped__(variant.kind, variant.train_job)


@EXAMPLES
@given(plans())
def test_the_kept_host_check_is_the_host_limit(text):
    for variant, offer, _, cap, job in _frontier_pairs(text):
        probe, spec = MemoryProbe(job, offer.spec), offer.spec
        held = spec.host_ram_bytes or 1e12
        for count in (1, 2, spec.gpus_per_node, 2 * spec.gpus_per_node):
            # from nothing held to all of a node's host RAM per GPU, the verdict turns
            for host in (0, 1, int(held / 64), int(held / 8), int(held / 2), int(held), int(4 * held)):
                expected = host <= 0 or not rent.host_limits(count, spec, host)
                assert probe.host_fits(count, host) == expected, (spec.name, count, host)
