"""Print how many layouts the estimator evaluates per second on one core.

The search evaluates every candidate layout of every workload on every GPU type;
this measures ``evaluate_train`` and ``evaluate_serve`` over a grid of layouts for
a 7B and a 70B model (per-(job, gpu) precomputation warm, as in the search).
Run: python benchmarks/estimate_speed.py
"""

from __future__ import annotations

import itertools
import time

from planner.estimate import evaluate_serve, evaluate_train
from planner.estimate.types import Arch, GpuSpec, Layout, ServeJob, TrainJob

QWEN_7B = Arch(name="DeepSeek-R1-Distill-Qwen-7B", layers=28, hidden=3584, heads=28, kv_heads=4,
               head_dim=128, ffn=18944, vocab=152064, tied=False, qkv_bias=True)
LLAMA_70B = Arch(name="DeepSeek-R1-Distill-Llama-70B", layers=80, hidden=8192, heads=64, kv_heads=8,
                 head_dim=128, ffn=28672, vocab=128256)
A100 = GpuSpec(name="A100-80G", memory_bytes=81920 * 2**20, usable_fraction=0.9, bf16_flops=312e12,
               fp8_flops=0.0, int8_flops=624e12, hbm_bytes_per_s=2039e9, intra_node_bytes_per_s=300e9,
               inter_node_bytes_per_s=25e9, gpus_per_node=8, price_per_hour=1.79, train_utilization=0.5)


def train_layouts():
    for tp, pp, dp, zero, rc, off, mb in itertools.product(
        (1, 2, 4, 8), (1, 2, 4), (1, 2, 8, 32), (0, 1, 2, 3), ("none", "selective", "full"),
        ("none", "optimizer", "all"), (1, 2, 4),
    ):
        yield Layout(tp=tp, pp=pp, dp=dp, zero=zero, recompute=rc, offload=off, micro_batch=mb)


def serve_layouts():
    for tp, pp, r in itertools.product((1, 2, 4, 8), (1, 2, 4), (1, 2, 3, 4, 8, 16)):
        yield Layout(tp=tp, pp=pp, replicas=r)


def rate(fn, job, layouts, seconds=2.0):
    """Layouts per second of this process's CPU time (one core; other load on the
    machine does not count against it)."""
    fn(job, layouts[0], A100)  # warm the per-(job, gpu) cache
    n = 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        for lay in layouts:
            fn(job, lay, A100)
        n += len(layouts)
    return n / (time.process_time() - start)


def main() -> None:
    tl = list(train_layouts())
    sl = list(serve_layouts())
    for arch in (QWEN_7B, LLAMA_70B):
        for method in ("full", "lora", "qlora"):
            job = TrainJob(arch=arch, method=method, tokens=1e9, seq_len=4096, global_batch=64,
                           weights="nf4" if method == "qlora" else "bf16", lora_rank=64,
                           lora_targets=("q", "k", "v", "o", "gate", "up", "down"))
            print(f"train {arch.name:32s} {method:6s} {rate(evaluate_train, job, tl):>10,.0f} layouts/s")
        job = ServeJob(arch=arch, users=64, context=8192, prompt=6144, weights="int4")
        print(f"serve {arch.name:32s} {'int4':6s} {rate(evaluate_serve, job, sl):>10,.0f} layouts/s")


if __name__ == "__main__":
    main()
