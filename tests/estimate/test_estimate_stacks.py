"""Training memory terms that differ by stack and by layout key, worked by hand from their
sources (docs/estimation.md sec 3).

Sources: Megatron-LM megatron/training/theoretical_memory_usage.py (18 bytes per parameter,
6 + 12/dp with the distributed optimizer; 4 s b (h + V) for the fused loss; the 5% margin)
and megatron/core/fusions/fused_bias_swiglu.py (SwiGLU keeps its input); transformers
loss_utils.py (the materialised fp32 loss); DeepSpeed's estimate_zero2/zero3 functions
(offload keeps only 16-bit parameters on the GPU); bitsandbytes FSDP-QLoRA (4-bit storage
gathered as stored); QLoRA sec 3 (paged optimizers); Korthikanti Table 2 (SP), Megatron-Core
context_parallel.md (CP divides activations), PyTorch FSDP HYBRID_SHARD.
"""

from __future__ import annotations

import dataclasses

import pytest

from planner.estimate import evaluate_train, param_counts
from planner.estimate import memory as M
from planner.estimate import timing as T
from planner.estimate.precision import NF4_BYTES
from planner.estimate.types import Layout, TrainJob
from support.arch import A100_80G, TINY

ALL = ("q", "k", "v", "o", "gate", "up", "down")
PSI = 2_873_600  # TINY's parameters


def job(**kw) -> TrainJob:
    base = dict(arch=TINY, method="full", tokens=1e6, seq_len=128, global_batch=8)
    return TrainJob(**(base | kw))


def test_megatron_keeps_fp32_gradients():
    # 2 (bf16 weight) + 4 (fp32 main_grad) + 12 (fp32 master, m, v) = 18 bytes per
    # parameter; the distributed optimizer (ZeRO-1) over dp: 6 + 12 / dp
    m = evaluate_train(job(), Layout(), A100_80G).memory
    assert (m.weights, m.gradients, m.optimizer) == (2 * PSI, 4 * PSI, 12 * PSI)
    one = evaluate_train(job(), Layout(dp=8, zero=1), A100_80G).memory
    assert one.weights + one.gradients + one.optimizer == pytest.approx((6 + 12 / 8) * PSI, abs=2)
    # the other stacks follow the ZeRO paper's 2 + 2 + 12
    ds = evaluate_train(job(stack="deepspeed"), Layout(), A100_80G).memory
    assert (ds.weights, ds.gradients, ds.optimizer) == (2 * PSI, 2 * PSI, 12 * PSI)


def test_the_loss_is_fused_on_megatron_and_materialised_elsewhere():
    # per 128-token sequence: Megatron's vocab-parallel loss 4 s (h + V) = 643,072 bytes; the
    # others keep bf16 logits, their fp32 copy, the fp32 log-softmax and its gradient:
    # 14 s V = 1,792,000 bytes; everything else equal (the stacks' SwiGLU aside, below)
    fused = M.logits_bytes(128, 1, 256, 1000, 1)
    assert fused == 4 * 128 * (256 + 1000) == 643_072
    assert M.materialised_logits_bytes(128, 1, 1000, 1) == 14 * 128 * 1000
    plain = dataclasses.replace(TINY, gated_mlp=False)  # no SwiGLU: the loss is all that differs
    megatron = evaluate_train(job(arch=plain), Layout(), A100_80G).memory.activations
    hf = evaluate_train(job(arch=plain, stack="hf"), Layout(), A100_80G).memory.activations
    assert hf - megatron == 14 * 128 * 1000 - 643_072


def test_fused_swiglu_keeps_three_tensors():
    # Megatron's fused SwiGLU saves its input (gate and up) and its output: 3 x 2 s f bytes a
    # layer; eager SwiGLU also keeps silu(gate): 4 x 2 s f
    eager = M.layer_activation_bytes(128, 1, 256, 4, ffn=512, kv_heads=2, head_dim=64, gated=True,
                                     dropout=False, flash=True)
    fused = M.layer_activation_bytes(128, 1, 256, 4, ffn=512, kv_heads=2, head_dim=64, gated=True,
                                     dropout=False, flash=True, fused_swiglu=True)
    assert eager - fused == 2 * 128 * 512


def test_offload_takes_the_gradients_to_the_host():
    # DeepSpeed estimate_zero2_model_states_mem_needs(cpu_offload=True): gpu_mem = 2 x params;
    # estimate_zero3_model_states_mem_needs(cpu_offload=True, offload_params=False):
    # 4 x largest layer + 2 x params / N. Ours: the same, the working set being 2 layers of
    # 2 bytes = 4 x a layer's parameters.
    j = job(stack="deepspeed")
    two = evaluate_train(j, Layout(zero=2, offload="optimizer"), A100_80G).memory
    assert (two.weights, two.gradients, two.optimizer) == (2 * PSI, 0, 0)
    assert two.host == (2 + 12) * PSI
    three = evaluate_train(j, Layout(dp=4, zero=3, offload="optimizer"), A100_80G).memory
    layer = param_counts(TINY).layers_total / 4
    assert three.weights == int(4 * layer + 2 * PSI / 4)
    assert three.gradients == three.optimizer == 0


def test_zero3_gathers_quantized_layers_as_stored():
    # QLoRA under ZeRO-3: the working set is two layers as stored (NF4 linear weights at
    # 0.516 bytes, norms at 2, adapters at 2), not at 2 bytes a parameter
    j = job(method="qlora", weights="nf4", lora_rank=8, lora_targets=ALL, stack="hf")
    m = evaluate_train(j, Layout(dp=4, zero=3), A100_80G).memory
    pc = param_counts(TINY)
    lora = 8 * (4 * ((256 + 256) + 2 * (256 + 128) + (256 + 256)) + 4 * 3 * (256 + 512))
    frozen_dense = pc.layers_linear * NF4_BYTES + (pc.layers_other + pc.final_norm + pc.embedding) * 2
    layer = (pc.layers_linear * NF4_BYTES + pc.layers_other * 2 + 2 * lora) / 4
    adapters = 2 * lora / 4  # ZeRO-3 partitions the trained adapters too
    dequant = 2 * pc.largest_linear  # one bf16 copy of the matrix being multiplied
    assert m.weights == int(frozen_dense / 4 + adapters + dequant + 2 * layer)


def test_a_paged_optimizer_spills_what_does_not_fit():
    # bitsandbytes' paged AdamW lives in CUDA unified memory: on a GPU too small for it, the
    # excess pages to the host and crosses the host link twice a step
    j = job(optimizer="paged-adamw", stack="hf")
    roomy = evaluate_train(j, Layout(), A100_80G)
    assert roomy.memory.host == 0 and roomy.memory.optimizer == 12 * PSI
    # a device half the optimizer state too small
    small = dataclasses.replace(A100_80G, memory_bytes=roomy.memory.total - 6 * PSI)
    tight = evaluate_train(j, Layout(), small)
    resident = roomy.memory.total - roomy.memory.optimizer
    spilled = roomy.memory.total - small.memory_bytes
    assert spilled == 6 * PSI
    assert tight.memory.optimizer == pytest.approx(12 * PSI - spilled, abs=2)
    assert tight.memory.host == pytest.approx(spilled, abs=2)
    assert tight.memory.total == pytest.approx(small.memory_bytes, abs=2) and resident < small.memory_bytes
    steps = 1e6 / (8 * 128)
    assert tight.communication_seconds - roomy.communication_seconds == pytest.approx(
        2 * spilled / T.host_link_bytes_per_s("A100-80G") * steps, rel=1e-6)
    # an optimizer that does not page stays resident, over the memory if it must
    plain = evaluate_train(job(stack="hf"), Layout(), small)
    assert plain.memory.host == 0 and plain.memory.total > small.memory_bytes


def test_training_memory_is_all_of_it_less_context_and_reserve():
    # training may allocate the whole device; the CUDA context (512 MiB) and an allocator
    # reserve of 5% of the activations (Megatron's margin) are counted in the need
    m = evaluate_train(job(), Layout(), A100_80G).memory
    assert m.overhead == int(512 * 2**20 + 0.05 * m.activations)
    assert A100_80G.train_usable_bytes == A100_80G.memory_bytes
    assert dataclasses.replace(A100_80G, train_usable_fraction=0.9).train_usable_bytes \
        == int(0.9 * A100_80G.memory_bytes)


def test_context_parallel_divides_activations_and_shards_with_dp():
    j = job(global_batch=8)
    one = evaluate_train(j, Layout(dp=2, zero=3), A100_80G).memory
    two = evaluate_train(j, Layout(dp=2, cp=2, zero=3), A100_80G).memory
    # each GPU holds half of every sequence; ZeRO partitions over dp x cp = 4 ranks
    assert two.activations == pytest.approx(one.activations / 2, abs=2)
    assert two.gradients == pytest.approx(one.gradients / 2, abs=2)
    assert two.optimizer == pytest.approx(one.optimizer / 2, abs=2)


def test_hsdp_shards_within_its_group():
    # HYBRID_SHARD over groups of 4 of the 8 DP ranks: model states / 4, not / 8
    full = evaluate_train(job(global_batch=8), Layout(dp=8, zero=3), A100_80G).memory
    hsdp = evaluate_train(job(global_batch=8), Layout(dp=8, zero=3, shard=4), A100_80G).memory
    assert hsdp.optimizer == pytest.approx(2 * full.optimizer, abs=2)
    assert hsdp.gradients == pytest.approx(2 * full.gradients, abs=2)
    with pytest.raises(ValueError, match="shard = 3"):
        evaluate_train(job(), Layout(dp=8, zero=3, shard=3), A100_80G)
    with pytest.raises(ValueError, match="ZeRO-3"):
        evaluate_train(job(), Layout(dp=8, zero=2, shard=4), A100_80G)


def test_sequence_parallel_keeps_tp_volume_in_twice_the_collectives():
    # Korthikanti sec 4.2.2: a reduce-scatter and an all-gather replace each all-reduce,
    # the same bytes; SP splits the norms' and dropout's activations over TP (Table 2)
    from planner.estimate import step_traffic

    j = job()
    tp = step_traffic(j, Layout(tp=2), A100_80G)
    sp = step_traffic(j, Layout(tp=2, sp=True), A100_80G)
    assert sp.tensor == tp.tensor
    plain = evaluate_train(j, Layout(tp=2), A100_80G)
    split = evaluate_train(j, Layout(tp=2, sp=True), A100_80G)
    assert split.memory.activations < plain.memory.activations
    # twice the collectives, each with NCCL's latency (8.4 us + 1 NVLink step of 3.4 us for
    # a gather over 2, vs 8.4 + 2 x 3.4 for an all-reduce)
    steps = 1e6 / (8 * 128)
    count = 4 * 4 * 8  # a step: 4 a layer, 4 layers, 8 micro-batches
    extra = count * (2 * (8.4e-6 + 3.4e-6) - (8.4e-6 + 2 * 3.4e-6))
    assert split.communication_seconds - plain.communication_seconds == pytest.approx(extra * steps, rel=1e-6)


def test_selective_recomputation_is_megatrons():
    with pytest.raises(ValueError, match="stack = megatron"):
        evaluate_train(job(stack="hf"), Layout(recompute="selective"), A100_80G)
