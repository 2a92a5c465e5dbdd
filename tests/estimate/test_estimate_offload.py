"""CPU offload time: ZeRO-Offload (optimizer) and ZeRO-Infinity (parameters) host traffic."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.estimate import evaluate_train, lora_params, param_counts
from planner.estimate import timing as T
from planner.estimate.types import Arch, Layout, TrainJob
from support.arch import QWEN_7B, TINY, A100_80G as GPU

ALL = ("q", "k", "v", "o", "gate", "up", "down")

archs = st.builds(
    lambda heads, layers, ffn, vocab, moe: Arch(
        name="x", layers=layers, hidden=heads * 128, heads=heads, kv_heads=min(heads, 8), head_dim=128,
        ffn=ffn * 1024, vocab=vocab, experts=8 if moe else 0, experts_per_token=2 if moe else 0,
        expert_ffn=512 if moe else 0),
    st.sampled_from([8, 16, 32, 64]), st.integers(2, 64), st.integers(1, 8), st.integers(1000, 160000),
    st.booleans())
train_jobs = st.builds(
    lambda arch, method, opt, seq, gb: TrainJob(
        arch=arch, method=method, tokens=1e8, seq_len=seq, global_batch=gb, optimizer=opt,
        weights="nf4" if method == "qlora" else "bf16", lora_rank=16, lora_targets=ALL),
    archs, st.sampled_from(["full", "lora", "qlora"]), st.sampled_from(["adamw", "adamw-8bit", "sgd"]),
    st.sampled_from([512, 2048, 4096]), st.integers(1, 256))
layouts = st.builds(Layout, tp=st.sampled_from([1, 2, 4, 8]), pp=st.sampled_from([1, 2, 4]),
                    dp=st.sampled_from([1, 2, 4, 16]), zero=st.integers(0, 3),
                    recompute=st.sampled_from(["none", "selective", "full"]), micro_batch=st.integers(1, 4))
gpus = st.sampled_from([GPU] + [dataclasses.replace(GPU, name=n) for n in ("H100-SXM", "V100-32G")])


def test_constants_and_host_links():
    assert T.PCIE_GEN4_BYTES_PER_S == 25e9 and T.CPU_ADAM_PARAMS_PER_S == 0.4e9
    assert T.PCIE_GEN5_BYTES_PER_S == 2 * T.PCIE_GEN4_BYTES_PER_S == 4 * T.PCIE_GEN3_BYTES_PER_S
    assert T.host_link_bytes_per_s("A100-80G") == 25e9
    assert T.host_link_bytes_per_s("H100-SXM") == 50e9
    assert T.host_link_bytes_per_s("B200") == 50e9
    assert T.host_link_bytes_per_s("MI300X") == 50e9
    assert T.host_link_bytes_per_s("V100-32G") == 12.5e9
    # the superchips' names contain H200 / B200: NVLink-C2C must win
    assert T.host_link_bytes_per_s("GH200") == T.host_link_bytes_per_s("GB200") == 346e9
    assert T.host_link_bytes_per_s("some-new-gpu") == 25e9


def test_tiny_full_offload_by_hand():
    # TINY: 4 layers x 590,336 + final norm 256 + embedding and head 2 x 256,000
    psi = 2_873_600
    assert param_counts(TINY).total == psi
    job = TrainJob(arch=TINY, method="full", tokens=1e6, seq_len=128, global_batch=8)
    base = evaluate_train(job, Layout(), GPU)
    assert base.communication_seconds == 0.0
    steps = 1e6 / (8 * 128)  # 976.5625
    m = 8  # micro-batches of one sequence per step
    # compute: the estimator's (worked by hand in tests/estimate/test_estimate_compute.py)
    backward = 2 / 3 * base.compute_seconds / steps / m  # the last micro-batch's backward
    grads = 2 * psi / 25e9  # bf16 gradients to the host: 2.29888e-4 s
    adam = psi / 0.4e9  # CPU Adam: 7.184e-3 s
    params = 2 * psi / 25e9  # bf16 parameters back
    assert adam == pytest.approx(7.184e-3) and grads == params == pytest.approx(2.29888e-4)
    per_step = max(0.0, grads - backward) + adam + params
    opt = evaluate_train(job, Layout(offload="optimizer"), GPU)
    assert opt.communication_seconds == pytest.approx(per_step * steps)
    assert opt.compute_seconds == base.compute_seconds
    # parameters too: forward and backward fetch the 2-byte parameters each micro-batch,
    # recomputation a third time
    fetch = 2 * psi / 25e9
    every = evaluate_train(job, Layout(offload="all"), GPU)
    assert every.communication_seconds == pytest.approx((per_step + m * 2 * fetch) * steps)
    # 16 fetches of 5,747,200 bytes per step, 976.5625 steps
    assert every.communication_seconds - opt.communication_seconds == pytest.approx(3.592)
    redo = evaluate_train(job, Layout(offload="all", recompute="full"), GPU)
    redo_opt = evaluate_train(job, Layout(offload="optimizer", recompute="full"), GPU)
    assert redo.communication_seconds - redo_opt.communication_seconds == pytest.approx(m * 3 * fetch * steps)
    # the hours include it
    assert every.hours == pytest.approx((every.compute_seconds + every.communication_seconds) / 3600)


def test_zero_partitions_the_offloaded_optimizer():
    job = TrainJob(arch=TINY, method="full", tokens=1e6, seq_len=128, global_batch=8)
    lay = Layout(dp=4, zero=2, offload="optimizer")
    base = evaluate_train(job, dataclasses.replace(lay, offload="none"), GPU)
    opt = evaluate_train(job, lay, GPU)
    steps = 1e6 / (8 * 128)
    psi = param_counts(TINY).total / 4  # this GPU's partition
    backward = 2 / 3 * base.compute_seconds / steps / 2  # m = 8 / 4
    per_step = max(0.0, 2 * psi / 25e9 - backward) + psi / 0.4e9 + 2 * psi / 25e9
    assert opt.communication_seconds - base.communication_seconds == pytest.approx(per_step * steps)


@settings(max_examples=150, deadline=None)
@given(train_jobs, layouts, gpus)
def test_offload_never_faster(job, layout, gpu):
    none, opt, every = (evaluate_train(job, dataclasses.replace(layout, offload=o), gpu)
                        for o in ("none", "optimizer", "all"))
    assert none.seconds <= opt.seconds <= every.seconds
    assert none.compute_seconds == opt.compute_seconds == every.compute_seconds


@pytest.mark.parametrize("offload", ["optimizer", "all"])
@pytest.mark.parametrize("lay", [Layout(recompute="full"), Layout(dp=8, zero=3, recompute="full")])
def test_lora_offload_penalty_much_smaller_than_full(offload, lay):
    def penalty(method):
        job = TrainJob(arch=QWEN_7B, method=method, tokens=250e6, seq_len=4096, global_batch=16,
                       lora_rank=64, lora_targets=ALL)
        on = evaluate_train(job, dataclasses.replace(lay, offload=offload), GPU)
        off = evaluate_train(job, lay, GPU)
        return on.seconds - off.seconds

    full, lora = penalty("full"), penalty("lora")
    assert lora > 0
    if offload == "optimizer":
        # only the 161,480,704 adapters go through the CPU optimizer, not 7.6e9 parameters
        assert lora_params(QWEN_7B, 64, ALL) == 161_480_704
        assert lora * 20 < full
    else:
        # the frozen base crosses PCIe as often as a full fine-tune's weights: still smaller
        assert lora < full


def test_worked_example_of_the_docs():
    # docs/estimation.md sec 7: 1 GB of text (250M tokens), seq 4096, batch 16, full recompute, 1 A100
    steps = 250e6 / (16 * 4096)  # 3814.697
    lay = Layout(recompute="full")

    def extra(method, offload):
        job = TrainJob(arch=QWEN_7B, method=method, tokens=250e6, seq_len=4096, global_batch=16,
                       lora_rank=64, lora_targets=ALL, stack="deepspeed" if method == "full" else "hf")
        return evaluate_train(job, dataclasses.replace(lay, offload=offload), GPU).communication_seconds

    psi = 7_615_616_512
    # full: the gradients (0.609 s) hide behind the last micro-batch's 1.105 s backward;
    # CPU Adam 19.039 s and the parameters back 0.609 s do not
    assert extra("full", "optimizer") == pytest.approx((psi / 0.4e9 + 2 * psi / 25e9) * steps)
    assert extra("full", "optimizer") == pytest.approx(74_952, abs=1)
    # LoRA: 161,480,704 adapters, 0.417 s per step
    assert extra("lora", "optimizer") == pytest.approx(1_589.3, abs=0.1)
    # offload all adds 16 micro-batches x 3 passes x 15.23 GB / 25 GB/s = 29.24 s per step
    assert extra("full", "all") - extra("full", "optimizer") == pytest.approx(111_557, abs=1)
