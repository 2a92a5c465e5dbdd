"""The pruned candidate search loses nothing: exhaustive enumeration of every layout finds
no option the search's kept set does not match or beat (same estimator, small instances)."""

from __future__ import annotations

import itertools

import pytest

from planner.estimate import evaluate_serve
from planner.estimate.types import Layout
from planner.resolve.variants import build_variants, replace_weights, serve_weight_choices
from planner.search import Frontiers, search
from planner.search import space as S
from planner.search.candidates import breaches, train_candidate

PLAN = """import "std"
plan "s" { objective = cost }
gpu "L4" { available = 8 }
gpu "A100-80G" { available = 8 }
model "tiny" { params = 1.1B  layers = 22  hidden = 2048  heads = 32  kv_heads = 4
               ffn = 5632  vocab = 32000  tied = false  mlp = gated  precision = bf16 }
model "q7" { like = "DeepSeek-R1-Distill-Qwen-7B" }
pretrain "base" { model = "tiny" dataset = 3B tokens batch = 16 deadline <= 7d }
finetune "full7" { model = "q7" method = full dataset = 20MB batch = 8 seq_len = 2k }
serve "chat" { model = "q7" users = 24 context = 4k tpot <= 60ms ttft <= 3s }
"""


@pytest.fixture(scope="module")
def instances():
    from planner.resolve.load import load_plan

    plan = load_plan("mem/s.plan", reader=lambda path: PLAN)
    return {i.name: i for i in build_variants(plan)}


def _every_train_layout(inst, offer):
    """Every layout of the space docs/solve.md states, at context parallelism 1 (the search
    goes past 1 only where nothing fits, which these instances never need): SP whenever TP
    > 1, every interleaving that divides a stage's layers, HSDP within a node besides full
    sharding under ZeRO-3 without offload."""
    job = inst.train_job
    cap = offer.available
    for tp in S.tp_degrees(inst, offer.spec):
        for pp in S.pp_degrees(inst):
            for dp in S.divisors(job.global_batch):
                if tp * pp * dp > cap:
                    continue
                pairs = S.ZERO_OFFLOAD if dp > 1 else S.ZERO_OFFLOAD_SINGLE
                mbs = [m for m in (1, 2, 4, 8, 16) if (job.global_batch // dp) % m == 0]
                for (zero, offload), rc, mb in itertools.product(pairs, S.recompute_chain(inst), mbs):
                    if job.stack in ("deepspeed", "hf") and pp > 1 and zero >= 2:
                        continue  # DeepSpeed's pipeline engine refuses ZeRO-2/3
                    if job.method == "qlora" and tp > 1:
                        continue  # bitsandbytes' packed weights: data parallel only
                    for vpp in S.vpp_choices(inst, pp):
                        if vpp > 1 and (job.global_batch // (dp * mb)) % pp:
                            continue
                        for shard in S.shard_choices(inst, offer.spec, tp, 1, dp, zero, offload):
                            lay = Layout(tp=tp, pp=pp, dp=dp, zero=zero, offload=offload,
                                         recompute=rc, micro_batch=mb, sp=tp > 1, vpp=vpp,
                                         shard=shard)
                            # as rented: GPU memory and the host RAM offload needs, the
                            # run's hours with start-up, checkpoints and restarts
                            cand = train_candidate(inst, offer, 0, job, lay)
                            if cand.fits_memory:
                                yield tp * pp * dp, cand.hours


@pytest.mark.parametrize("name", ["base", "full7"])
def test_training_frontier_covers_every_fitting_layout(instances, name):
    inst = instances[name]
    found = search(inst, Frontiers())
    for offer in inst.offers:
        kept = [(c.gpu_count, c.hours) for c in found.outcomes[offer.name].options]
        best: dict[int, float] = {}
        for count, hours in _every_train_layout(inst, offer):
            if inst.deadline_hours is None or hours <= inst.deadline_hours:
                best[count] = min(hours, best.get(count, hours))
        assert bool(kept) == bool(best)
        for count, hours in best.items():
            # some kept option uses no more GPUs and no more time
            assert any(k <= count and h <= hours * (1 + 1e-9) for k, h in kept), (offer.name, count)


def test_serving_keeps_the_fewest_gpus_any_layout_needs(instances):
    inst = instances["chat"]
    found = search(inst, Frontiers())
    for offer in inst.offers:
        fewest = None
        for weights in serve_weight_choices(inst, offer.spec):
            job = replace_weights(inst.serve_job, weights)
            for tp in S.tp_degrees(inst, offer.spec):
                for pp in S.pp_degrees(inst):
                    for r in range(1, job.users + 1):
                        if tp * pp * r > offer.available:
                            break
                        est = evaluate_serve(job, Layout(tp=tp, pp=pp, replicas=r), offer.spec)
                        if (est.memory.total <= offer.spec.usable_bytes
                                and est.tpot_seconds <= inst.tpot_seconds
                                and est.ttft_seconds <= inst.ttft_seconds):
                            n = tp * pp * r
                            fewest = n if fewest is None else min(fewest, n)
        options = found.outcomes[offer.name].options
        assert (options[0].gpu_count if options else None) == fewest, offer.name


def test_every_kept_candidate_meets_the_limits(instances):
    for inst in instances.values():
        for outcome in search(inst, Frontiers()).outcomes.values():
            for c in outcome.options:
                assert breaches(inst, c, outcome.available) == []
