"""Hand-worked values of single formulas and constants."""

from __future__ import annotations

import dataclasses

import pytest

from planner.estimate import evaluate_serve, evaluate_train, lora_params, param_counts
from planner.estimate import memory as M
from planner.estimate import precision as P
from planner.estimate import timing as T
from planner.estimate.defaults import SERVICE_HOURS, default_train_utilization
from planner.estimate.types import Layout, ServeJob, TrainJob
from support.arch import A100_80G as GPU, TINY


def test_quantized_bytes_per_param():
    assert P.NF4_BYTES * 8 == pytest.approx(4.127, abs=1e-3)  # QLoRA: 0.127 bits on top of 4
    assert P.INT4_BYTES == 0.51953125
    assert P.FP8_BYTES == 1.000244140625
    with pytest.raises(ValueError, match="unknown weight precision"):
        P.bytes_per_param("int3")


def test_optimizer_bytes():
    assert M.optimizer_state_bytes("adamw") + M.WEIGHT_TRAIN_BYTES + M.GRAD_BYTES == 16
    assert M.optimizer_state_bytes("adamw-8bit") == pytest.approx(6.0039, abs=1e-4)
    assert M.optimizer_state_bytes("sgd") == 8
    with pytest.raises(ValueError, match="unknown optimizer"):
        M.optimizer_state_bytes("lion")


def test_tiny_param_count_by_hand():
    # attention 256*256*2 + 256*128*2 = 196,608; MLP 3*256*512 = 393,216; norms 512
    per_layer = 196_608 + 393_216 + 512
    assert param_counts(TINY).total == 4 * per_layer + 256 + 2 * 1000 * 256
    tied = dataclasses.replace(TINY, tied=True)
    assert param_counts(TINY).total - param_counts(tied).total == 1000 * 256
    # LoRA rank 8 on q and v: 8*(256+256) + 8*(256+128) per layer
    assert lora_params(TINY, 8, ("q", "v")) == 4 * (8 * 512 + 8 * 384)
    with pytest.raises(ValueError, match="unknown LoRA target"):
        lora_params(TINY, 8, ("qkv",))


def test_offload_moves_states_to_host():
    # ZeRO-Offload keeps the optimizer state and the gradients on the host; only the
    # 16-bit parameters stay (DeepSpeed's estimate_zero2_model_states_mem_needs with
    # cpu_offload: 2 bytes per parameter on the GPU)
    job = TrainJob(arch=TINY, method="full", tokens=1e6, seq_len=128, global_batch=8, stack="deepspeed")
    base = evaluate_train(job, Layout(), GPU).memory
    opt = evaluate_train(job, Layout(offload="optimizer", zero=2), GPU).memory
    assert opt.optimizer == opt.gradients == 0
    assert opt.host == base.optimizer + base.gradients and opt.weights == base.weights
    assert opt.weights == int(2 * param_counts(TINY).total)
    full = evaluate_train(job, Layout(offload="all", zero=3, dp=2), GPU)
    assert full.memory.host > 0 and full.memory.optimizer == full.memory.gradients == 0


def test_recompute_flops():
    n, a = 7e9, 1e9
    assert T.train_flops_per_token(n, a, "full", "full") == 8 * n + 16 * a
    assert T.train_flops_per_token(n, a, "full", "selective") == 6 * n + 16 * a
    assert T.train_flops_per_token(n, a, "lora", "none", 1e7) == 4 * n + 6e7 + 12 * a
    assert T.train_flops_split(n, a, "full", "full") == (8 * n, 16 * a)
    assert T.ring_allreduce_seconds(8e9, 8, 1e9) == pytest.approx(14.0)
    assert T.bubble_fraction(16, 32, 4) == pytest.approx(15 / 128)


def test_mla_kv_does_not_shrink_with_tp_but_gqa_does():
    mla = dataclasses.replace(TINY, kv_lora_rank=64, qk_rope_dim=16, qk_nope_dim=32, v_head_dim=32)
    assert M.kv_bytes_per_token_per_gpu(mla, "bf16", 4, 1) == M.kv_bytes_per_token_per_gpu(mla, "bf16", 1, 1)
    assert M.kv_bytes_per_token_per_gpu(TINY, "bf16", 2, 1) * 2 == M.kv_bytes_per_token_per_gpu(TINY, "bf16", 1, 1)
    # kv_heads (2) < tp (4): a head is replicated, one per rank
    assert M.kv_bytes_per_token_per_gpu(TINY, "bf16", 4, 1) == M.kv_bytes_per_token_per_gpu(TINY, "bf16", 2, 1)


def test_moe_decode_reads_only_touched_experts():
    moe = dataclasses.replace(TINY, experts=64, experts_per_token=2, expert_ffn=128)
    one = evaluate_serve(ServeJob(arch=moe, users=1, context=64, prompt=32, weights="bf16"), Layout(), GPU)
    dense_read = (one.memory.weights + one.memory.kv_cache) / GPU.hbm_bytes_per_s
    assert one.tpot_seconds < dense_read
    pc = param_counts(moe)
    assert pc.active == pc.total - pc.routed_linear + pc.routed_active_linear


def test_bad_layout_is_rejected():
    job = TrainJob(arch=TINY, method="full", tokens=1e6, seq_len=128, global_batch=8)
    with pytest.raises(ValueError, match="recompute"):
        evaluate_train(job, Layout(recompute="some"), GPU)
    with pytest.raises(ValueError, match=">= 1"):
        evaluate_train(job, Layout(tp=0), GPU)


def test_defaults():
    # utilization = the GPU's best-shape matmul fraction (MAMF, stas00/ml-engineering) x the
    # share training reaches of it on A100 (0.706 / 0.869): A100 SXM 0.706; H100 SXM
    # 0.803 x 0.706 / 0.869 = 0.6524; GPUs without a measurement take their vendor's lowest
    # (NVIDIA 0.729 -> 0.5923, AMD MI300X 0.514 -> 0.4176)
    assert SERVICE_HOURS == 730
    share = 0.706 / 0.869
    assert default_train_utilization("A100-80G", "nvidia") == pytest.approx(0.706)
    assert default_train_utilization("H100-SXM", "nvidia") == pytest.approx(0.803 * share)
    assert default_train_utilization("A10G", "nvidia") == pytest.approx(0.729 * share)
    assert default_train_utilization("RTX-4090", "nvidia") == pytest.approx(0.729 * share)
    assert default_train_utilization("MI300X", "amd") == pytest.approx(0.514 * share)
    assert default_train_utilization("A100-80G-PCIe", "nvidia") == pytest.approx(0.811 * share)


def test_estimates_are_ordinary_dataclass_values():
    job = TrainJob(arch=TINY, method="full", tokens=1e6, seq_len=128, global_batch=8)
    est = evaluate_train(job, Layout(), GPU)
    again = dataclasses.replace(est, memory=dataclasses.replace(est.memory))
    assert est == again and hash(est.memory) == hash(again.memory)
    assert est.memory.total == sum(v for k, v in est.memory.components().items() if k != "total")
    serve = evaluate_serve(ServeJob(arch=TINY, users=2, context=256, prompt=64, weights="int4"), Layout(), GPU)
    assert serve.memory.gradients == 0 and serve.memory.host == 0 and serve.gpus == 1
