"""planner export: every emitted key or flag is one the tool documents.

The documented lists below are copied from each tool's reference, with the
version they were taken from; an export that emits anything else fails here.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex

import pytest

from planner.errors import PlanError, PlanNameError
from planner.export import artifacts, deepspeed, skypilot, vllm
from planner.export.names import HF_REPOS, has_bf16, skypilot_gpu

from planner.result import plain_data
from support.results import result as result_json, serve_row as serve_json, train_row as train_json, typed, typed_row


def serve_row(**kw):
    return typed_row(serve_json(**kw))


def train_row(**kw):
    return typed_row(train_json(**kw))


def result(rows, **kw):
    return typed(result_json([plain_data(r) for r in rows], **kw))

# ---------------------------------------------------------------- documented keys and flags

# DeepSpeed, docs/_pages/config-json.md ("DeepSpeed Configuration JSON") of
# deepspeedai/DeepSpeed at commit 00376da49967bc6a15d70a550200ac67277b1fb4 (master, 2026):
# sections Batch Size, Optimizer, Scheduler, Communication, FP16, BFLOAT16, Gradient
# Clipping, ZeRO Optimizations, Parameter offloading, Optimizer offloading, Tensor Parallel (AutoTP).
DEEPSPEED_KEYS = {
    "": {"train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps",
         "managed_gradient_accumulation", "optimizer", "scheduler", "communication_data_type",
         "gradient_allreduce_op", "prescale_gradients", "gradient_predivide_factor", "fp16", "bf16",
         "torch_autocast", "gradient_clipping", "zero_optimization", "aio", "tensor_parallel",
         "hybrid_engine"},
    "fp16": {"enabled", "auto_cast", "loss_scale", "initial_scale_power", "loss_scale_window",
             "hysteresis", "consecutive_hysteresis", "min_loss_scale", "fp16_master_weights_and_grads"},
    "bf16": {"enabled", "bf16_master_weights_and_grads", "bf16_optimizer_states"},
    "zero_optimization": {"stage", "allgather_partitions", "allgather_bucket_size", "compute_grad_norm",
                          "overlap_comm", "reduce_scatter", "reduce_bucket_size", "contiguous_gradients",
                          "load_from_fp32_weights", "round_robin_gradients", "parameter_alignment",
                          "offload_param", "offload_optimizer", "stage3_max_live_parameters",
                          "stage3_max_reuse_distance", "stage3_prefetch_bucket_size",
                          "stage3_param_persistence_threshold", "sub_group_size",
                          "stage3_gather_16bit_weights_on_model_save",
                          "stage3_module_granularity_threshold", "zero_hpz_partition_size",
                          "zero_quantized_weights", "zero_quantized_gradients",
                          "log_trace_cache_warnings", "ignore_unused_parameters", "elastic_checkpoint"},
    "zero_optimization.offload_param": {"device", "nvme_path", "pin_memory", "buffer_count",
                                        "buffer_size", "max_in_cpu"},
    "zero_optimization.offload_optimizer": {"device", "nvme_path", "pin_memory", "ratio",
                                            "buffer_count", "fast_init"},
    "tensor_parallel": {"autotp_size", "preset_model", "tp_overlap_comm", "vocab_parallel_lm_head",
                        "partition_config"},
}
DEEPSPEED_VALUES = {
    "zero_optimization.stage": {0, 1, 2, 3},
    "zero_optimization.offload_param.device": {"cpu", "nvme"},
    "zero_optimization.offload_optimizer.device": {"cpu", "nvme"},
}

# vLLM engine arguments of `vllm serve`, v0.9.0 (docs.vllm.ai/en/v0.9.0, "Engine Arguments";
# choices from vllm.config of that release: ModelDType, CacheDType) and
# data parallelism from docs/serving/data_parallel_deployment.md. Value-taking flags only.
VLLM_FLAGS = {
    "--tensor-parallel-size": int, "--pipeline-parallel-size": int, "--data-parallel-size": int,
    "--max-model-len": int, "--max-num-seqs": int, "--gpu-memory-utilization": float,
    "--quantization": str, "--kv-cache-dtype": str, "--dtype": str, "--port": int,
}
VLLM_CHOICES = {
    "--dtype": {"auto", "half", "float16", "bfloat16", "float", "float32"},
    "--kv-cache-dtype": {"auto", "fp8", "fp8_e4m3", "fp8_e5m2"},
    # QuantizationMethods in vllm/model_executor/layers/quantization/__init__.py (vllm-project/vllm
    # at commit 0034007debee2a009e030804f2cde7953aff78c6)
    "--quantization": {"aqlm", "awq", "deepspeedfp", "tpu_int8", "fp8", "ptpc_fp8", "fbgemm_fp8",
                       "deepgemm_fp8", "modelopt", "modelopt_fp4", "marlin", "bitblas", "gguf",
                       "gptq_marlin_24", "gptq_marlin", "gptq_bitblas", "awq_marlin", "gptq",
                       "compressed-tensors", "bitsandbytes", "qqq", "hqq", "experts_int8",
                       "neuron_quant", "ipex", "quark", "moe_wna16", "torchao", "auto-round"},
}

# SkyPilot task YAML, docs.skypilot.co/en/v0.9.1/reference/yaml-spec.html ("SkyPilot YAML").
SKYPILOT_KEYS = {
    "": {"name", "workdir", "num_nodes", "resources", "envs", "file_mounts", "setup", "run", "service"},
    "resources": {"cloud", "region", "zone", "accelerators", "accelerator_args", "cpus", "memory",
                  "instance_type", "use_spot", "disk_size", "disk_tier", "image_id", "ports", "labels",
                  "any_of", "ordered", "job_recovery"},
}
# SkyPilot's canonical accelerator names (sky/utils/accelerator_registry.py of
# skypilot-org/skypilot, plus the names of its v0.9 GPU catalogs for the newer GPUs).
SKYPILOT_ACCELERATORS = {"A100", "A100-80GB", "A10G", "A10", "L4", "L40", "L40S", "T4", "V100",
                         "V100-32GB", "H100", "H200", "B200", "GH200", "MI300X"}


def check_deepspeed(config: dict, prefix: str = "") -> None:
    allowed = DEEPSPEED_KEYS[prefix]
    for key, value in config.items():
        path = f"{prefix}.{key}" if prefix else key
        assert key in allowed, f"DeepSpeed has no key {path!r}"
        if path in DEEPSPEED_VALUES:
            assert value in DEEPSPEED_VALUES[path], f"{path} = {value!r}"
        if isinstance(value, dict):
            check_deepspeed(value, path)
    if not prefix:
        dp_product = config["train_batch_size"] // (
            config["train_micro_batch_size_per_gpu"] * config["gradient_accumulation_steps"])
        assert config["train_batch_size"] == (
            config["train_micro_batch_size_per_gpu"] * config["gradient_accumulation_steps"] * dp_product)
        assert ("bf16" in config) != ("fp16" in config)  # DeepSpeed: the two modes exclude each other


def check_vllm(argv: list[str]) -> dict:
    assert argv[:2] == ["vllm", "serve"] and not argv[2].startswith("-")
    flags, rest = {}, argv[3:]
    assert len(rest) % 2 == 0
    for flag, value in zip(rest[::2], rest[1::2]):
        assert flag in VLLM_FLAGS, f"vLLM has no flag {flag}"
        VLLM_FLAGS[flag](value)
        if flag in VLLM_CHOICES:
            assert value in VLLM_CHOICES[flag], f"{flag} {value}"
        flags[flag] = value
    return flags


def parse_yaml(text: str) -> dict:
    """The subset our writer emits: top-level scalars, one nested map, ``|`` blocks."""
    out: dict = {}
    current = block = None
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if block is not None and line.startswith("  "):
            out[block] += line[2:] + "\n"
            continue
        block = None
        if line.startswith("  "):
            key, _, value = line.strip().partition(": ")
            out[current][key] = json.loads(value) if value.startswith('"') else value
            continue
        key, _, value = line.partition(":")
        value = value.strip()
        if value == "":
            current, out[key] = key, {}
        elif value == "|":
            block, out[key] = key, ""
        else:
            out[key] = json.loads(value) if value.startswith('"') else value
    return out


def check_skypilot(text: str) -> dict:
    spec = parse_yaml(text)
    for key in spec:
        assert key in SKYPILOT_KEYS[""], f"SkyPilot YAML has no key {key!r}"
    for key in spec["resources"]:
        assert key in SKYPILOT_KEYS["resources"], f"SkyPilot resources have no key {key!r}"
    name, _, count = spec["resources"]["accelerators"].partition(":")
    assert name in SKYPILOT_ACCELERATORS and int(count) >= 1
    assert int(spec["num_nodes"]) >= 1
    assert re.match(r"^[a-z][a-z0-9-]*$", spec["name"])
    if "run" in spec:
        check_vllm(shlex.split(spec["run"]))
    return spec


# ---------------------------------------------------------------- the exports


def test_deepspeed_config_of_a_zero3_tp8_run():
    row = train_row(tp=8, dp=2, zero=3, micro=1, batch=64, count=16)
    config = deepspeed.config(row)
    check_deepspeed(config)
    # 64 sequences / (1 micro x 2 DP) = 32 accumulation steps
    assert config == {
        "train_batch_size": 64, "train_micro_batch_size_per_gpu": 1, "gradient_accumulation_steps": 32,
        "zero_optimization": {"stage": 3}, "bf16": {"enabled": True},
        "tensor_parallel": {"autotp_size": 8},
    }


def test_deepspeed_rounds_accumulation_up_and_restates_the_batch():
    config = deepspeed.config(train_row(tp=1, dp=3, zero=2, micro=2, batch=64, count=3, offload="optimizer"))
    check_deepspeed(config)
    # ceil(64 / (2 x 3)) = 11 steps, so the batch DeepSpeed runs is 2 x 11 x 3 = 66
    assert (config["gradient_accumulation_steps"], config["train_batch_size"]) == (11, 66)
    assert config["zero_optimization"] == {
        "stage": 2, "offload_optimizer": {"device": "cpu", "pin_memory": True}}


def test_deepspeed_offload_all_and_fp16_gpus():
    config = deepspeed.config(train_row(gpu="V100-32G", tp=1, dp=8, zero=3, count=8, offload="all"))
    check_deepspeed(config)
    assert config["fp16"] == {"enabled": True} and "bf16" not in config
    assert set(config["zero_optimization"]) == {"stage", "offload_optimizer", "offload_param"}
    with pytest.raises(PlanError, match="needs ZeRO stage 3"):
        deepspeed.config(train_row(zero=2, offload="all"))
    with pytest.raises(PlanError, match="ZeRO stage 0"):
        deepspeed.config(train_row(zero=0, offload="optimizer"))


def test_vllm_command_for_an_int4_single_gpu_server():
    row = serve_row(weights="int4", kv="bf16", users=3, serving={"running_limit": 3})
    argv = vllm.arguments(row, "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B")
    flags = check_vllm(argv)
    assert flags == {
        "--tensor-parallel-size": "1", "--pipeline-parallel-size": "1", "--max-model-len": "8000",
        "--max-num-seqs": "3", "--quantization": "awq", "--gpu-memory-utilization": "0.90",
        "--kv-cache-dtype": "auto",
    }


def test_vllm_replicas_become_data_parallel_ranks_and_fp8():
    row = serve_row(weights="fp8", kv="fp8", users=10, replicas=2, count=4, tp=2)
    flags = check_vllm(vllm.arguments(row, "m"))
    # the running requests the plan sized each replica for (its KV cache and the engine's cap)
    assert flags["--data-parallel-size"] == "2" and flags["--max-num-seqs"] == "40"
    # a result without serving figures: 10 users over 2 replicas, 5 sequences each
    bare = dataclasses.replace(row, service=None)
    assert check_vllm(vllm.arguments(bare, "m"))["--max-num-seqs"] == "5"
    assert flags["--quantization"] == "fp8" and flags["--kv-cache-dtype"] == "fp8"
    assert check_vllm(vllm.arguments(serve_row(weights="bf16"), "m"))["--dtype"] == "bfloat16"
    assert "--quantization" not in check_vllm(vllm.arguments(serve_row(weights="bf16"), "m"))


def test_vllm_script_is_a_shell_command():
    text = vllm.render(serve_row(), "org/model name")
    assert text.startswith("#!/bin/sh\n")
    command = text.split("exec ", 1)[1].replace("\\\n", " ")
    assert shlex.split(command)[2] == "org/model name"
    check_vllm(shlex.split(command))


def test_skypilot_task_per_row_kind():
    train = check_skypilot(skypilot.render(train_row(gpu="A100-80G", count=16, nodes=2), None))
    assert train["resources"]["accelerators"] == "A100-80GB:8" and train["num_nodes"] == "2"
    # the row's host needs (96 cores, 1024 GiB, 4 TB) split over its 2 nodes
    assert train["resources"]["cpus"] == "48+" and train["resources"]["memory"] == "512+"
    assert train["resources"]["disk_size"] == "2000"
    assert "run" not in train
    serve = check_skypilot(skypilot.render(serve_row(), "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"))
    assert serve["resources"]["accelerators"] == "A10G:1" and serve["resources"]["ports"] == "8000"
    assert serve["run"].startswith("vllm serve deepseek-ai/DeepSeek-R1-Distill-Qwen-7B ")
    small = serve_json()
    small["host"] = dict(small["host"], nvme_bytes=20 * 10**9)
    small = typed_row(small)
    assert "disk_size" not in check_skypilot(skypilot.render(small, "m"))["resources"]  # default 256 GB


def test_skypilot_names_and_quoting():
    assert skypilot_gpu("A100-80G") == "A100-80GB" and skypilot_gpu("h100 sxm") == "H100"
    assert skypilot_gpu("MyAccel") == "MyAccel"
    assert skypilot.scalar("8+") == '"8+"' and skypilot.scalar("yes") == '"yes"'
    assert skypilot.scalar("A10G:1") == "A10G:1" and skypilot.scalar('a "b"') == '"a \\"b\\""'
    spec = check_skypilot(skypilot.render(serve_row(name="7B chat!", scenario={"users": "10"}), None))
    assert spec["name"] == "w-7b-chat-users-10"
    assert not has_bf16("T4") and has_bf16("A10G") and has_bf16("L4")


def test_artifacts_select_rows_and_skip_what_does_not_fit():
    data = result([serve_row(), train_row(), train_row(name="big", fits=False),
                   train_row(name="sw", scenario={"dataset": "1GB"}, cost=5.0)])
    files, skipped = artifacts(data, "deepspeed")
    assert [f.filename for f in files] == ["tune-70b.deepspeed.json", "sw-dataset-1GB.deepspeed.json"]
    assert skipped == ["big: misses the deadline; nothing to launch"]  # decided by its deadline
    files, _ = artifacts(data, "skypilot")
    assert len(files) == 3
    files, _ = artifacts(data, "vllm", "chat-7b", {"qwen-7b": "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"})
    assert "vllm serve deepseek-ai/DeepSeek-R1-Distill-Qwen-7B" in files[0].text
    with pytest.raises(PlanNameError, match="did you mean 'chat-7b'"):
        artifacts(data, "vllm", "chat-7")
    with pytest.raises(PlanError, match="is a finetune workload"):
        artifacts(data, "vllm", "tune-70b")
    with pytest.raises(PlanError, match="no serve workload"):
        artifacts(result([train_row()]), "vllm")


def test_hf_table_names_catalog_models():
    from planner.resolve.load import load_std

    catalog = {m.name for m in load_std().models}
    assert set(HF_REPOS) <= catalog


def test_model_references_follow_like_chains_and_config_paths():
    from planner.errors import Span
    from planner.export import model_references
    from planner.plan import Model, Plan

    plan = Plan(file="/work/plans/a.plan", models=[
        Model(name="DeepSeek-R1-Distill-Qwen-7B"),
        Model(name="r1", like="DeepSeek-R1-Distill-Qwen-7B"),
        Model(name="r1-short", like="r1"),
        Model(name="mine", config="../models/mine/config.json", span=Span.point("/work/plans/a.plan")),
        Model(name="tiny"),
        Model(name="loop-a", like="loop-b"), Model(name="loop-b", like="loop-a"),
    ])
    refs = model_references(plan)
    assert refs["r1"] == refs["r1-short"] == "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"
    assert refs["mine"] == "/work/models/mine"  # the directory holding config.json
    assert refs["tiny"] == "tiny" and refs["loop-a"] == "loop-a"


def test_multi_node_serving():
    # two TP8 replicas on two 8-GPU nodes: one server per node, each run by SkyPilot on its node
    per_node = serve_row(count=16, nodes=2, tp=8, replicas=2, users=32)
    assert vllm.servers(per_node) == (2, 1)
    spec = check_skypilot(skypilot.render(per_node, "m"))
    assert spec["num_nodes"] == "2" and spec["resources"]["accelerators"] == "A10G:8"
    assert check_vllm(shlex.split(spec["run"]))["--max-num-seqs"] == "40"  # service.running_limit
    # one TP16 replica spans both nodes: no single-node command to run, resources only
    spanning = serve_row(count=16, nodes=2, tp=16, replicas=1)
    assert vllm.servers(spanning) == (1, 1)
    assert "run" not in check_skypilot(skypilot.render(spanning, "m"))
