"""The planner's training model against the public training and memory measurements.

Each case is run with the published layout pinned: the GPU from the shipped catalog with the
cluster's network as published (Selene: eight 200 Gb/s HDR NICs per node; the FSDP blog's
400 and 800 Gb/s read per node; Llama 3: 400 Gb/s per GPU), the architecture from the data
file, and TP, PP, DP, CP, micro-batch, recomputation and schedule as the source prints them.
What a source does not print is chosen the way the search chooses it (the fastest layout that
fits memory among the values the source leaves open) and named in ``OPEN``.
``training_rows()`` returns one ``FidelityRow`` per published number (predicted / published - 1
is the error); ``held_out_rows()`` the held-out checks of docs/estimation.md sec 5.

Acceptance groups (tests/estimate/test_fidelity_training.py):
* Megatron-LM 2021 Table 1 (public_cases_v2.json): TFLOP/s per GPU by the paper's eq. 3.
* Korthikanti 2022 Table 5 (public_cases_v2.json): iteration time, baseline and present work.
* PyTorch/IBM FSDP blog 34B / 70B (public_cases_v2.json): tokens/s per GPU.
* Llama 3 405B Table 4 (public_cases.json): TFLOP/s per GPU (6N + 12·L·H·Q·T per token).
* Public memory cases (public_cases.json): ZeRO model states (Figure 1, Table 1) and
  Korthikanti's activation formulas (Table 2) for GPT-3 and MT-NLG shapes.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json

from planner.estimate import evaluate_train, model_flops
from planner.estimate.common import attention_width
from planner.estimate import memory as M
from planner.estimate.types import Arch, GpuSpec, Layout, TrainJob
from planner.resolve.bridge import arch_from_model, gpu_spec
from planner.resolve.load import load_std
from support.fidelity_serving import FidelityRow
from support.paths import DATA

MEGATRON = "Megatron-LM 2021 Table 1"
KORTHIKANTI = "Korthikanti 2022 Table 5"
FSDP = "PyTorch/IBM FSDP blog 34B/70B"
LLAMA3 = "Llama 3 405B Table 4"
ZERO = "ZeRO model states (memory)"
ACTIVATIONS = "Korthikanti activations (memory)"
GROUPS = (MEGATRON, KORTHIKANTI, FSDP, LLAMA3, ZERO, ACTIVATIONS)
MCORE = "held out: Megatron-Core H100 table"
FP8 = "held out: IBM/Meta float8 FSDP2 (512 H100)"
QLORA = "held out: PEFT QLoRA Llama-2-70B on 2 GPUs"
FIG1 = "held out: Korthikanti Figure 1 memory (Calculon)"

GB = 1e9
GIB = 2**30
# Selene (Megatron 2021 sec 5, Korthikanti sec 6): eight 200 Gb/s HDR InfiniBand HCAs per
# node of 8 A100s: 25 GB/s per GPU.
SELENE_NETWORK = 8 * 200e9 / 8 / 8
# The FSDP blog's "400Gbps" (A100) and "800Gbps" (H100) inter-node figures, read per node
# (docs/estimation.md sec 5: the blog does not say; the IBM authors write per-node figures).
FSDP_NETWORK = {"A100 80GB": 400e9 / 8 / 8, "H100 80GB": 800e9 / 8 / 8}
# Llama 3 (arXiv:2407.21783 sec 3.3.1): "400 Gbps interconnects between GPUs".
LLAMA3_NETWORK = 400e9 / 8
# IBM Cloud cluster of the float8 blog: "3.2Tbps RoCE" per node of 8 H100s.
IBM_NETWORK = 3.2e12 / 8 / 8
# Megatron-LM's script (examples/sc21/run_table_1.sh): layers per virtual stage -> chunks per GPU.
MEGATRON_VPP = {"76.1B": 3, "145.6B": 2, "310.1B": 2, "529.6B": 3}
# What each source leaves open, searched as the planner searches it.
OPEN = {
    KORTHIKANTI: "1T's interleaving (not stated; Calculon's reproduction inputs use 1)",
    LLAMA3: "interleaved chunks per GPU (vpp, 1-8) and recomputation, searched",
    MCORE: "micro-batch 1/2/4, recomputation none/selective and vpp, searched; SP on, ZeRO-1",
    FP8: "micro-batch and recomputation, searched (the blog 'explored the best batch size')",
}


@functools.lru_cache(maxsize=1)
def _catalog() -> tuple[dict[str, GpuSpec], dict[str, Arch]]:
    std = load_std()
    gpus = {g.name: gpu_spec(g) for g in std.gpus if g.name in ("A100-80G", "H100-SXM")}
    models = {m.name: arch_from_model(m) for m in std.models}
    return gpus, models


def _gpu(name: str, network: float) -> GpuSpec:
    return dataclasses.replace(_catalog()[0][name], inter_node_bytes_per_s=network)


def _groups(name: str) -> tuple[dict[str, dict], dict[str, dict], list[dict]]:
    data = json.loads((DATA / name).read_text())
    return {g["group"]: g for g in data["groups"]}, data.get("architectures", {}), data["data"]


def gpt(spec: dict, seq: int = 2048) -> Arch:
    """The GPT shape of Megatron-LM and Korthikanti: MLP 4h, LayerNorm with biases, learned
    positions, biases on every linear, embeddings tied to the output layer (eq. 2 counts V·h once)."""
    return Arch(name="GPT", layers=spec["layers"], hidden=spec["hidden"], heads=spec["heads"],
                kv_heads=spec["heads"], head_dim=spec["hidden"] // spec["heads"],
                ffn=spec["intermediate"], vocab=spec["vocab"], tied=True, gated_mlp=False,
                norm="layer", positions=seq, linear_bias=True)


def llama(name: str, spec: dict) -> Arch:
    return Arch(name=name, layers=spec["layers"], hidden=spec["hidden"], heads=spec["heads"],
                kv_heads=spec["kv_heads"], head_dim=spec["hidden"] // spec["heads"],
                ffn=spec["intermediate"], vocab=spec["vocab"])


def _one_step(arch: Arch, batch: int, seq: int, **job) -> TrainJob:
    return TrainJob(arch=arch, method=job.pop("method", "full"), tokens=float(batch * seq),
                    seq_len=seq, global_batch=batch, **job)


@dataclasses.dataclass(frozen=True)
class Case:
    """One published number and the pinned run that predicts it."""

    group: str
    case: str
    metric: str
    unit: str
    published: float
    job: TrainJob
    layout: Layout
    gpu: GpuSpec
    value: object  # (job, estimate) -> the metric

    def predicted(self, utilization: float | None = None) -> float:
        job = self.job if utilization is None else dataclasses.replace(self.job, utilization=utilization)
        return self.value(job, evaluate_train(job, self.layout, self.gpu))

    def row(self) -> FidelityRow:
        return FidelityRow(self.group, self.case, self.metric, self.unit, self.published,
                           self.predicted())

    def implied_utilization(self) -> float:
        """The utilization at which this run's prediction equals the published number
        (bisection; throughput metrics rise with it, times fall)."""
        rising = self.predicted(0.9) > self.predicted(0.3)
        low, high = 0.05, 1.0
        for _ in range(60):
            mid = (low + high) / 2
            above = self.predicted(mid) > self.published
            if above == rising:
                high = mid
            else:
                low = mid
        return (low + high) / 2


def fastest(job: TrainJob, gpu: GpuSpec, layouts):
    """(layout, estimate) of the fastest layout that fits memory, as the search picks."""
    best = None
    for layout in layouts:
        try:
            est = evaluate_train(job, layout, gpu)
        except ValueError:
            continue
        if est.memory.total > gpu.train_usable_bytes:
            continue
        if best is None or est.seconds < best[1].seconds:
            best = (layout, est)
    return best


# ---------------------------------------------------------------- acceptance groups
def megatron_cases() -> list[Case]:
    groups, _, _ = _groups("public_cases_v2.json")
    gpu = _gpu("A100-80G", SELENE_NETWORK)
    cases = []
    for row in groups[MEGATRON]["rows"]:
        spec, setup = row["architecture"], row["setup"]
        arch = gpt(spec)
        batch, seq = setup["global_batch"], spec["seq_len"]
        # 2021: fp16 with fp32 main grads, full recomputation, unfused (pre-Flash) attention
        # with dropout 0.1 (Megatron defaults)
        job = _one_step(arch, batch, seq, dropout=True)
        layout = Layout(tp=setup["TP"], pp=setup["PP"], dp=setup["DP_derived"], recompute="full",
                        micro_batch=setup["micro_batch"], flash_attention=False,
                        vpp=MEGATRON_VPP.get(spec["params_billion_as_printed"] + "B", 1))
        l, h, v = spec["layers"], spec["hidden"], spec["vocab"]
        eq3 = 96 * batch * seq * l * h * h * (1 + seq / (6 * h) + v / (16 * l * h))
        cases.append(Case(MEGATRON, row["id"], "TFLOP/s per GPU", "TFLOP/s",
                          row["measured"]["TFLOPs_per_GPU"], job, layout, gpu,
                          lambda job, est, f=eq3, n=setup["GPUs"]: f / (est.seconds * n) / 1e12))
    return cases


def megatron_rows() -> list[FidelityRow]:
    return [c.row() for c in megatron_cases()]


def korthikanti_layouts(setup: dict, vpp: int) -> dict[str, Layout]:
    common = dict(tp=setup["TP"], pp=setup["PP"], dp=1, micro_batch=setup["micro_batch"],
                  flash_attention=False, vpp=vpp)
    return {"baseline": Layout(recompute="full", **common),
            "present": Layout(recompute="selective", sp=True, **common)}


def korthikanti_cases() -> list[Case]:
    groups, _, _ = _groups("public_cases_v2.json")
    gpu = _gpu("A100-80G", SELENE_NETWORK)
    cases = []
    for row in groups[KORTHIKANTI]["rows"]:
        spec, setup = row["architecture"], row["setup"]
        job = _one_step(gpt(spec), setup["global_batch"], spec["seq_len"], dropout=True)
        vpp = 3 if "three interleaving" in setup["pipeline_schedule"] else 1
        measured = row["measured"]
        for which, layout in korthikanti_layouts(setup, vpp).items():
            key = ("iteration_time_s_full_recompute_baseline" if which == "baseline"
                   else "iteration_time_s_present_work")
            cases.append(Case(KORTHIKANTI, f"{row['id']} {which}", "iteration time", "s",
                              measured[key], job, layout, gpu, lambda job, est: est.seconds))
    return cases


def korthikanti_rows() -> list[FidelityRow]:
    return [c.row() for c in korthikanti_cases()]


def derivation_cases() -> list[Case]:
    """The runs efficiency.TRAIN_MATMUL_FRACTION is derived from: every A100 run of
    Megatron-LM 2021 Table 1 and Korthikanti 2022 Table 5."""
    return megatron_cases() + korthikanti_cases()


def fsdp_rows() -> list[FidelityRow]:
    groups, archs, _ = _groups("public_cases_v2.json")
    rows = []
    for row in groups["PyTorch/IBM FSDP blog Table 1 (34B, 70B)"]["rows"]:
        setup = row["setup"]
        arch = llama(row["architecture"], archs[row["architecture"]])
        gpus, per_gpu, seq = setup["GPUs"], setup["batch_size_per_GPU"], 4096
        gpu = _gpu("A100-80G" if setup["GPU"].startswith("A100") else "H100-SXM",
                   FSDP_NETWORK[setup["GPU"]])
        job = _one_step(arch, per_gpu * gpus, seq, stack="fsdp")
        layout = Layout(dp=gpus, zero=3, recompute="full", micro_batch=per_gpu)
        est = evaluate_train(job, layout, gpu)
        rows.append(FidelityRow(FSDP, row["id"], "tokens/s per GPU", "tok/s",
                                row["measured"]["tokens_per_s_per_GPU"],
                                job.tokens / est.seconds / gpus))
    return rows


def causal_model_flops(job: TrainJob) -> float:
    """Model FLOPs with causal attention counted once (6N + 6·L·H·Q·T per token): the count
    under which Table 4's 131K-token row and its 8K-token rows agree (under PaLM's 12·L·H·Q·T
    the CP row would run 30% below the others at the same parallelism)."""
    attention = job.arch.layers * attention_width(job.arch) * job.seq_len
    return model_flops(job) - 6.0 * attention * job.tokens


def llama3_rows() -> list[FidelityRow]:
    """Llama 3 405B: TP 8, PP 16, FSDP sharding model, optimizer and gradients (ZeRO-3;
    arXiv:2407.21783 sec 3.3.2), CP 16 for the 131K-token row."""
    groups, archs, _ = _groups("public_cases.json")
    arch = llama("Llama3-405B", archs["Llama3-405B"])
    gpu = _gpu("H100-SXM", LLAMA3_NETWORK)
    rows = []
    for row in groups[LLAMA3]["rows"]:
        setup = row["setup"]
        dp, cp, seq = setup["DP(FSDP)"], setup["CP"], setup["seq"]
        job = _one_step(arch, dp * setup["batch_per_DP"], seq)
        layouts = [Layout(tp=8, pp=16, dp=dp, cp=cp, zero=3, sp=True, vpp=v, recompute=rc)
                   for v in range(1, 9) for rc in ("none", "selective", "full")]
        _, est = fastest(job, gpu, layouts)
        rows.append(FidelityRow(LLAMA3, row["id"], "TFLOP/s per GPU", "TFLOP/s",
                                row["measured"]["TFLOPs_per_GPU"],
                                causal_model_flops(job) / (est.seconds * setup["GPUs"]) / 1e12))
    return rows


def zero_rows() -> list[FidelityRow]:
    """ZeRO Table 1: 7.5B, 128B and 1T parameters, N_d 1-1024, three stages (GB per device)."""
    _, _, data = _groups("public_cases.json")
    table = next(d for d in data if d["id"] == "zero_table1_128B_1T")
    rows = []
    for model, psi in zip(("7.5B", "128B", "1T"), table["architecture"]["params"]):
        for nd_key, values in table["measured"][model].items():
            nd = int(nd_key[2:])
            for stage, published in zip((1, 2, 3), values):
                predicted = sum(M.zero_model_states(psi, nd, stage)) / GB
                rows.append(FidelityRow(ZERO, f"{model} Nd={nd} stage {stage}", "model states",
                                        "GB", published, predicted))
    return rows


def activation_rows() -> list[FidelityRow]:
    """Korthikanti Table 2 evaluated for GPT-3 (175B) and MT-NLG (530B) at t = 8: the
    estimator's per-layer activation bytes against the paper's formulas."""
    shapes = {"GPT-3": (2048, 1, 12288, 96), "MT-NLG": (2048, 1, 20480, 128)}
    t = 8
    rows = []
    for name, (s, b, h, a) in shapes.items():
        sbh = s * b * h
        formulas = {
            "tensor": (sbh * (10 + 24 / t + 5 * a * s / (h * t)), {}),
            "tensor+sequence": (sbh * (34 / t + 5 * a * s / (h * t)), {"sequence_parallel": True}),
            "tensor+selective": (sbh * (10 + 24 / t), {"recompute": "selective"}),
            "tensor+sequence+selective": (sbh * 34 / t, {"recompute": "selective",
                                                         "sequence_parallel": True}),
            "full recompute": (2 * sbh, {"recompute": "full"}),
        }
        for case, (published, kw) in formulas.items():
            predicted = M.layer_activation_bytes(s, b, h, a, t, **kw)
            rows.append(FidelityRow(ACTIVATIONS, f"{name} {case}", "bytes per layer", "B",
                                    published, predicted))
    return rows


def training_rows() -> list[FidelityRow]:
    """Every public training and memory case, planner vs published."""
    return (megatron_rows() + korthikanti_rows() + fsdp_rows() + llama3_rows() + zero_rows()
            + activation_rows())


# ---------------------------------------------------------------- held out
# Megatron-Core H100 weak scaling (NVIDIA/Megatron-LM README and images/model_table.png
# @f2e5db40): (name, heads, hidden, layers, TP, PP, DP, batch, TFLOP/s per GPU). Vocabulary
# 131,072, sequence 4096, GPT shape (MLP 4h, MHA), untied.
MCORE_TABLE = (
    ("1.7B", 16, 2048, 24, 1, 1, 48, 192, 408.8), ("7.1B", 32, 4096, 30, 2, 1, 48, 192, 465.9),
    ("16B", 48, 6144, 32, 4, 1, 48, 192, 489.1), ("32B", 56, 7168, 48, 8, 1, 48, 192, 459.6),
    ("70B", 64, 8192, 84, 8, 2, 48, 384, 419.7), ("119B", 80, 10240, 92, 8, 4, 48, 768, 420.5),
    ("177B", 96, 12288, 96, 8, 6, 48, 1152, 432.8), ("314B", 128, 16384, 96, 8, 8, 48, 1536, 474.4),
    ("462B", 144, 18432, 112, 8, 16, 48, 3072, 459.9),
)
# IBM/Meta float8 blog Table 3 (512 H100, IBM Cloud, seq 8192): model, TP, wps bf16, float8.
FP8_TABLE = (("Llama-3.1-70B", 1, 960.0, 1448.0), ("Llama-3.1-405B", 4, 152.0, 217.0))
# PEFT docs (docs/source/accelerate/fsdp.md @018ca9d6, deepspeed.md @09802c1b): Llama-2-70B
# QLoRA on 2 GPUs, seq 2048, per-device batch 2, gradient checkpointing, r 8, all linears.
QLORA_TABLE = (("fsdp", "none", 35.6), ("deepspeed", "none", 36.6), ("fsdp", "all", 19.6))
# Calculon's transcription of Korthikanti Figure 1 (calculon/llm/validation.py @caa4b11f),
# GiB per GPU: weights + gradients + optimizer, activations without recomputation, with SP +
# selective.
FIG1_TABLE = {"22B": (45.5625, 59.25, 9.5625), "175B": (45.5625, 66.84375, 12.3515625),
              "530B": (31.640625, 114.0234375, 23.076171875), "1T": (32.958984375, 131.25, 26.5625)}


def mcore_rows() -> list[FidelityRow]:
    gpu = _gpu("H100-SXM", 400e9 / 8)  # DGX H100: eight 400 Gb/s NICs per node
    rows = []
    for name, heads, hidden, layers, tp, pp, dp, batch, published in MCORE_TABLE:
        arch = Arch(name=name, layers=layers, hidden=hidden, heads=heads, kv_heads=heads,
                    head_dim=hidden // heads, ffn=4 * hidden, vocab=131072, gated_mlp=False)
        job = _one_step(arch, batch, 4096)
        options = itertools.product((1, 2, 4), ("none", "selective"), range(1, 7 if pp > 1 else 2))
        layouts = [Layout(tp=tp, pp=pp, dp=dp, zero=1, sp=tp > 1, micro_batch=mb, recompute=rc,
                          vpp=v) for mb, rc, v in options]
        _, est = fastest(job, gpu, layouts)
        rows.append(FidelityRow(MCORE, name, "TFLOP/s per GPU", "TFLOP/s", published,
                                model_flops(job) / (est.seconds * tp * pp * dp) / 1e12))
    return rows


def fp8_rows() -> list[FidelityRow]:
    gpu = _gpu("H100-SXM", IBM_NETWORK)
    models = _catalog()[1]
    rows = []
    for name, tp, bf16, fp8 in FP8_TABLE:
        dp = 512 // tp
        wps = {}
        for precision in ("bf16", "fp8"):
            best = None
            for mb in (1, 2, 4):
                job = _one_step(models[name], dp * mb, 8192, stack="fsdp", precision=precision)
                layouts = [Layout(tp=tp, dp=dp, zero=3, sp=tp > 1, micro_batch=mb, recompute=rc)
                           for rc in ("none", "full")]
                found = fastest(job, gpu, layouts)
                if found and (best is None or job.tokens / found[1].seconds > best):
                    best = job.tokens / found[1].seconds
            wps[precision] = best / 512
        rows.append(FidelityRow(FP8, f"{name} bf16", "tokens/s per GPU", "tok/s", bf16, wps["bf16"]))
        rows.append(FidelityRow(FP8, f"{name} float8 gain", "fp8 / bf16", "x", fp8 / bf16,
                                wps["fp8"] / wps["bf16"]))
    return rows


def qlora_rows() -> list[FidelityRow]:
    gpu = _gpu("A100-80G", 50e9 / 8)
    arch = _catalog()[1]["Llama-2-70B"]
    rows = []
    for stack, offload, published in QLORA_TABLE:
        job = TrainJob(arch=arch, method="qlora", tokens=8 * 2048.0, seq_len=2048, global_batch=8,
                       weights="nf4", lora_rank=8, stack=stack,
                       lora_targets=("q", "k", "v", "o", "gate", "up", "down"))
        layout = Layout(dp=2, zero=3, recompute="full", micro_batch=2, offload=offload)
        est = evaluate_train(job, layout, gpu)
        rows.append(FidelityRow(QLORA, f"{stack} offload={offload}", "memory per GPU", "GB",
                                published, est.memory.total / GB))
    return rows


def fig1_rows() -> list[FidelityRow]:
    groups, _, _ = _groups("public_cases_v2.json")
    gpu = _gpu("A100-80G", SELENE_NETWORK)
    rows = []
    for row in groups[KORTHIKANTI]["rows"]:
        spec, setup = row["architecture"], row["setup"]
        label = row["id"].rsplit("_", 1)[1]
        states, none, seqsel = FIG1_TABLE[label]
        job = _one_step(gpt(spec), setup["global_batch"], spec["seq_len"], dropout=True)
        vpp = 3 if "three interleaving" in setup["pipeline_schedule"] else 1
        base = korthikanti_layouts(setup, vpp)
        plain = evaluate_train(job, dataclasses.replace(base["baseline"], recompute="none"), gpu).memory
        present = evaluate_train(job, base["present"], gpu).memory
        rows.append(FidelityRow(FIG1, f"{label} model states", "GiB", "GiB", states,
                                (plain.weights + plain.gradients + plain.optimizer) / GIB))
        rows.append(FidelityRow(FIG1, f"{label} activations, none", "GiB", "GiB", none,
                                plain.activations / GIB))
        rows.append(FidelityRow(FIG1, f"{label} activations, SP + selective", "GiB", "GiB", seqsel,
                                present.activations / GIB))
    return rows


def held_out_rows() -> list[FidelityRow]:
    return mcore_rows() + fp8_rows() + qlora_rows() + fig1_rows()
