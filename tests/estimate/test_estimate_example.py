"""The worked 7B example of docs/estimation.md, reproduced number for number."""

from __future__ import annotations


import pytest

from planner.estimate import evaluate_serve, evaluate_train, kv_bytes_per_token, lora_params, param_counts
from planner.estimate.defaults import BYTES_PER_TOKEN, DEFAULT_LORA_RANK, DEFAULT_LORA_TARGETS
from planner.estimate.types import Layout, ServeJob, TrainJob
from support.arch import QWEN_7B, A100_80G as A100
from support.paths import DOCS

DOC = DOCS / "estimation.md"


SERVE = {  # weights precision -> (weights, kv pool, activations, overhead, total, ttft s, tpot ms, tok/s)
    "bf16": (15_231_233_024, 60_586_573_824, 417_857_536, 1_073_741_824, 77_309_406_208, "0.4663", "10.082", "291.1"),
    "int4": (5_570_747_392, 70_247_030_784, 417_857_536, 1_073_741_824, 77_309_377_536, "0.4583", "4.811", "596.1"),
}
RUNNING = {"bf16": (1_056_546, 145), "int4": (1_225_011, 168)}  # KV tokens, running limit
TRAIN = {  # name -> (method, weights, layout, (w, g, o, act, overhead, total), flops, hours)
    "lora": ("lora", "bf16", Layout(recompute="full"),
             (15_554_194_432, 322_961_408, 1_937_768_448, 10_351_509_504, 1_054_446_387, 29_220_880_179),
             "1.2573e19", "26.49"),
    "qlora": ("qlora", "nf4", Layout(recompute="full"),
              (6_005_603_072, 322_961_408, 1_937_768_448, 10_351_509_504, 1_054_446_387, 19_672_288_819),
              "1.2573e19", "27.23"),
    "full": ("full", "bf16", Layout(recompute="full"),
             (15_231_233_024, 15_231_233_024, 91_387_398_144, 10_347_839_488, 1_054_262_886,
              133_251_966_566),
             "1.5785e19", "32.53"),
    "full-zero3": ("full", "bf16", Layout(dp=8, zero=3, recompute="full"),
                   (2_836_135_296, 1_903_904_128, 11_423_424_768, 10_347_839_488, 1_054_262_886,
                    27_565_566_566),
                   "1.5785e19", "4.07"),
}
# each method on its default stack (planner.estimate.defaults.DEFAULT_STACK)
STACK = {"lora": "hf", "qlora": "hf", "full": "deepspeed"}


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text()


def _c(n: int) -> str:
    return f"{n:,}"


def test_parameters(doc):
    pc = param_counts(QWEN_7B)
    assert pc.total == 7_615_616_512
    assert pc.layers_linear == 6_525_288_448
    assert pc.total - pc.layers_linear == 1_090_328_064
    assert pc.active - pc.input_embedding == 7_070_619_136
    assert lora_params(QWEN_7B, DEFAULT_LORA_RANK, DEFAULT_LORA_TARGETS) == 161_480_704
    assert lora_params(QWEN_7B, 64, ("q", "v")) == 20_185_088
    assert kv_bytes_per_token(QWEN_7B, "bf16") == 57_344
    for n in (7_615_616_512, 6_525_288_448, 1_090_328_064, 7_070_619_136, 161_480_704, 20_185_088, 57_344):
        assert _c(n) in doc


@pytest.mark.parametrize("weights", sorted(SERVE))
def test_serve(doc, weights):
    w, kv, act, ovh, total, ttft, tpot, tps = SERVE[weights]
    est = evaluate_serve(ServeJob(arch=QWEN_7B, users=3, context=8192, prompt=6144, weights=weights),
                         Layout(), A100)
    m = est.memory
    assert (m.weights, m.kv_cache, m.activations, m.overhead, m.total) == (w, kv, act, ovh, total)
    assert (est.kv_tokens, est.running_limit) == RUNNING[weights]
    assert m.kv_cache == est.kv_tokens * kv_bytes_per_token(QWEN_7B, "bf16")
    assert _c(est.kv_tokens) in doc and str(est.running_limit) in doc
    assert f"{est.ttft_seconds:.4f}" == ttft
    assert f"{est.tpot_seconds * 1e3:.3f}" == tpot
    assert f"{est.tokens_per_second:.1f}" == tps
    assert f"**{_c(total)}**" in doc
    for text in (_c(w), _c(kv), _c(act), _c(ovh), f"{ttft} s", f"{tpot} ms", tps):
        assert text in doc, text


@pytest.mark.parametrize("name", sorted(TRAIN))
def test_train(doc, name):
    method, weights, layout, comps, flops, hours = TRAIN[name]
    tokens = 1e9 / BYTES_PER_TOKEN
    assert tokens == 250_000_000
    lora = method != "full"
    job = TrainJob(arch=QWEN_7B, method=method, tokens=tokens, seq_len=4096, global_batch=16,
                   weights=weights, lora_rank=DEFAULT_LORA_RANK if lora else 0,
                   lora_targets=DEFAULT_LORA_TARGETS if lora else (), stack=STACK[method])
    est = evaluate_train(job, layout, A100)
    m = est.memory
    assert (m.weights, m.gradients, m.optimizer, m.activations, m.overhead, m.total) == comps
    assert f"{est.flops:.4e}".replace("+", "") == flops
    assert f"{est.hours:.2f}" == hours
    for text in [_c(c) for c in comps] + [flops, hours]:
        assert text in doc, text


def test_rules_of_thumb_numbers(doc):
    # 64 users at 8k context: 30.1 GB of KV, x3.0 the bf16 weights with them
    kv = 64 * 8192 * kv_bytes_per_token(QWEN_7B, "bf16")
    weights = SERVE["bf16"][0]
    assert f"{kv / 1e9:.1f} GB" == "30.1 GB" and "30.1 GB" in doc
    assert f"{(weights + kv) / weights:.1f}" == "3.0" and "×3.0" in doc
    # 3 users at 8k: weights, their KV, activations and overhead
    small = weights + 3 * 8192 * kv_bytes_per_token(QWEN_7B, "bf16") + SERVE["bf16"][2] + SERVE["bf16"][3]
    assert f"{small / 1e9:.2f} GB" == "18.13 GB" and "18.13 GB" in doc
    # 16 bytes per trained parameter
    assert _c(16 * param_counts(QWEN_7B).total) in doc
    job = TrainJob(arch=QWEN_7B, method="lora", tokens=2.5e8, seq_len=4096, global_batch=16,
                   lora_rank=64, lora_targets=DEFAULT_LORA_TARGETS, stack="hf")
    act = evaluate_train(job, Layout(recompute="none"), A100).memory.activations
    assert act == 31_384_174_592 and _c(act) in doc
