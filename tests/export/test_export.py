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

# DeepSpeed 0.19.8 (the PyPI release tests/export/test_validate.py runs): the
# top-level keys DeepSpeedConfig._initialize_params reads (deepspeed/runtime/config.py) that an
# export may write, DeepSpeedZeroConfig's fields (deepspeed/runtime/zero/config.py, aliases
# included; MiCS's mics_shard_size is rejected as removed, _REMOVED_ZERO_CONFIG_KEYS), the offload
# configs (zero/offload_config.py), AutoTP (tensor_parallel) and AutoEP (module_inject/
# auto_ep_config.py parse_autoep_config).
DEEPSPEED_KEYS = {
    "": {"train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps",
         "managed_gradient_accumulation", "optimizer", "scheduler", "communication_data_type",
         "gradient_allreduce_op", "prescale_gradients", "gradient_predivide_factor", "fp16", "bf16",
         "torch_autocast", "gradient_clipping", "zero_optimization", "aio", "tensor_parallel",
         "expert_parallel", "hybrid_engine"},
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
    "expert_parallel": {"enabled", "autoep_size", "expert_tensor_parallel_size", "preset_model",
                        "moe_layer_pattern", "expert_pattern", "router_pattern"},
}
DEEPSPEED_VALUES = {
    "zero_optimization.stage": {0, 1, 2, 3},
    "zero_optimization.offload_param.device": {"cpu", "nvme"},
    "zero_optimization.offload_optimizer.device": {"cpu", "nvme"},
}

# vLLM 0.33.0 (the PyPI wheel vllm-0.33.0-cp38-abi3-manylinux_2_28_x86_64): `vllm serve` flags from
# vllm/engine/arg_utils.py EngineArgs.add_cli_args, with their value types; choices from
# vllm/config/model.py ModelDType, vllm/config/cache.py CacheDType and
# vllm/model_executor/layers/quantization/__init__.py QuantizationMethods (no "bitsandbytes").
VLLM_FLAGS = {
    "--tensor-parallel-size": int, "--pipeline-parallel-size": int, "--data-parallel-size": int,
    "--max-model-len": int, "--max-num-seqs": int, "--max-num-batched-tokens": int,
    "--gpu-memory-utilization": float, "--quantization": str, "--kv-cache-dtype": str,
    "--dtype": str, "--port": int, "--nnodes": int, "--node-rank": int, "--master-addr": str,
}
VLLM_SWITCHES = {"--enable-expert-parallel", "--enable-prefix-caching", "--headless"}
# what SkyPilot sets on each node (sky/skylet/constants.py), to check a multi-node `run`
SKYPILOT_ENV = {"$SKYPILOT_NODE_RANK": "1", "$HEAD": "10.0.0.1"}


def vllm_commands(run: str) -> list[list[str]]:
    """The `vllm serve` argv of each command in a SkyPilot `run` (node variables filled in)."""
    out = []
    for line in run.splitlines():
        line = line.strip()
        if line.startswith("vllm serve "):
            out.append([SKYPILOT_ENV.get(a, a) for a in shlex.split(line)])
    assert out, run
    return out
VLLM_CHOICES = {
    "--dtype": {"auto", "half", "float16", "bfloat16", "float", "float32"},
    "--kv-cache-dtype": {"auto", "float16", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2", "fp8_inc",
                         "fp8_ds_mla"},
    "--quantization": {"awq", "auto_awq", "fp8", "fbgemm_fp8", "fp_quant", "modelopt", "modelopt_fp4",
                       "modelopt_mxfp8", "modelopt_mixed", "auto_gptq", "gptq", "gptq_marlin",
                       "awq_marlin", "humming", "compressed-tensors", "experts_int8", "quark",
                       "moe_wna16", "torchao", "inc", "mxfp4", "gpt_oss_mxfp4", "online"},
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
    """The flags (a switch maps to True); every one vLLM 0.33 has, with a value it takes."""
    assert argv[:2] == ["vllm", "serve"] and not argv[2].startswith("-")
    flags, rest = {}, list(argv[3:])
    while rest:
        flag = rest.pop(0)
        if flag in VLLM_SWITCHES:
            flags[flag] = True
            continue
        assert flag in VLLM_FLAGS, f"vLLM has no flag {flag}"
        value = rest.pop(0)
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
        for argv in vllm_commands(spec["run"]):
            check_vllm(argv)
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
        "--max-num-batched-tokens": "2048",  # vLLM's default below 70 GiB (memory.MAX_BATCHED_TOKENS)
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
    assert "disk_size" not in train["resources"]  # without the plan's bytes: SkyPilot's default
    assert "run" not in train
    serve = check_skypilot(skypilot.render(serve_row(), "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"))
    assert serve["resources"]["accelerators"] == "A10G:1" and serve["resources"]["ports"] == "8000"
    assert serve["run"].startswith("vllm serve deepseek-ai/DeepSeek-R1-Distill-Qwen-7B ")


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
    # one TP16 replica spans both nodes: the same server on each, --nnodes 2 (vLLM 0.33's
    # multiprocessing backend), the second node --headless
    spanning = serve_row(count=16, nodes=2, tp=16, replicas=1)
    assert vllm.servers(spanning) == (1, 1)
    spec = check_skypilot(skypilot.render(spanning, "m"))
    head, worker = vllm_commands(spec["run"])
    assert check_vllm(head)["--nnodes"] == "2" and "--headless" not in head
    assert worker == head + ["--headless"]
    assert spec["run"].startswith('HEAD=$(echo "$SKYPILOT_NODE_IPS" | head -n1)\n')
    # 20 GPUs over 3 nodes do not split evenly: no run, a note (Ray places them unevenly)
    uneven = serve_row(count=20, nodes=3, tp=4, replicas=1)
    uneven = dataclasses.replace(uneven, layout=dataclasses.replace(uneven.layout, pp=5))
    assert "run" not in check_skypilot(skypilot.render(uneven, "m", None, 8))
    assert any("unevenly (TP x PP = 20 GPUs)" in n for n in vllm.notes(uneven, "m", nodes=3))


# ---------------------------------------------------------------- issue 16: exports that launch

def with_layout(row, **kw):
    return dataclasses.replace(row, layout=dataclasses.replace(row.layout, **kw))


def with_inputs(row, **kw):
    return dataclasses.replace(row, inputs=dataclasses.replace(row.inputs, **kw))


def test_layouts_deepspeed_cannot_run_are_refused_with_the_reason():
    qlora = with_layout(with_inputs(train_row(tp=2, dp=2, count=4, nodes=1, zero=0), method="qlora"),
                        weights="nf4")
    assert "bitsandbytes" in deepspeed.refusal(qlora)
    with pytest.raises(PlanError, match="QLoRA with tensor parallelism"):
        deepspeed.config(qlora)
    assert deepspeed.refusal(with_layout(qlora, tp=1, ep=2)).startswith("QLoRA with expert parallelism")
    assert deepspeed.refusal(with_layout(qlora, tp=1, dp=4)) is None  # QLoRA data parallel runs
    piped = with_layout(train_row(tp=1, dp=8, zero=2), pp=2)
    assert "incompatible with pipeline parallelism" in deepspeed.refusal(piped)
    assert deepspeed.refusal(with_layout(piped, zero=1)) is None
    experts = with_layout(train_row(tp=2, dp=4, zero=1), ep=4, pp=2)
    assert "AutoEP+AutoTP folding" in deepspeed.refusal(experts)
    assert deepspeed.refusal(with_layout(experts, pp=1, zero=3)) is None  # 0.19.8 folds EP into TP
    # refused rows are skipped with the reason; a refused row asked for by name is an error
    data = result([qlora, train_row(name="ok", tp=1, dp=16, zero=2)])
    files, skipped = artifacts(data, "deepspeed")
    assert [f.filename for f in files] == ["ok.deepspeed.json"]
    assert skipped[0].startswith("tune-70b: refused for deepspeed: QLoRA with tensor parallelism")
    with pytest.raises(PlanError, match="nothing to export --to deepspeed: tune-70b: refused for deepspeed"):
        artifacts(data, "deepspeed", "tune-70b")
    with pytest.raises(PlanError, match="nothing to export"):
        artifacts(result([qlora]), "deepspeed")
    # SkyPilot still rents the machines, and says DeepSpeed would refuse the layout
    files, _ = artifacts(data, "skypilot", "tune-70b")
    assert "# note: DeepSpeed cannot run this layout: QLoRA" in files[0].text


def test_expert_parallel_reaches_deepspeed_and_vllm():
    config = deepspeed.config(with_layout(train_row(tp=1, dp=16, zero=2), ep=8))
    check_deepspeed(config)
    assert config["expert_parallel"] == {"enabled": True, "autoep_size": 8}
    # vLLM's EP group is TP x DP: ep = 4 on TP4 is what --enable-expert-parallel gives
    row = with_layout(serve_row(tp=4, count=4), ep=4)
    flags = check_vllm(vllm.arguments(row, "m"))
    assert flags["--enable-expert-parallel"] is True
    assert vllm.notes(row, "m") == ["--quantization awq loads an AWQ checkpoint; m must be one"]
    odd = with_layout(serve_row(tp=4, count=4, weights="bf16"), ep=2)
    assert vllm.notes(odd, "m") == ["vLLM's expert-parallel group is TP x DP = 4 GPUs"
                                    " (--enable-expert-parallel); the plan assumed ep = 2"]


def test_vllm_refuses_nf4_and_states_prefix_caching():
    nf4 = serve_row(weights="nf4")
    assert "bitsandbytes" in vllm.refusal(nf4)
    with pytest.raises(PlanError, match="no longer loads"):
        vllm.arguments(nf4, "m")
    cached = with_inputs(serve_row(), prefix_cache=0.5)
    assert check_vllm(vllm.arguments(cached, "m"))["--enable-prefix-caching"] is True
    assert any("50% of prompt tokens" in n for n in vllm.notes(cached, "m"))
    # on an 80 GiB H100 vLLM's default step budget is 8192 tokens (memory.MAX_BATCHED_TOKENS_LARGE)
    big = serve_row(gpu="H100-SXM", gpu_memory=80 * 2**30)
    assert check_vllm(vllm.arguments(big, "m"))["--max-num-batched-tokens"] == "8192"


def test_notes_are_comments_in_the_files_and_beside_the_json():
    row = with_inputs(serve_row(weights="int4"), prefix_cache=0.25)
    text = vllm.render(row, "m", vllm.notes(row, "m"))
    assert "# note: --quantization awq loads an AWQ checkpoint" in text
    assert "  --enable-prefix-caching\n" in text or text.rstrip().endswith("--enable-prefix-caching")
    files, _ = artifacts(result([with_layout(train_row(), recompute="full")]), "deepspeed")
    name, notes = files[0].sidecar()
    assert name == "tune-70b.deepspeed.notes.txt" and "activation recomputation (full)" in notes
    json.loads(files[0].text)  # the JSON itself stays loadable by json.load


def test_skypilot_rents_a_shape_that_exists():
    from planner.export.context import Launch

    sold = Launch(shapes={"H100-SXM": (1, 2, 4, 8)}, per_node={"H100-SXM": 8})
    three = serve_row(gpu="H100-SXM", count=3, tp=1, replicas=3)
    assert skypilot.instances(three, sold, None) == (1, 4)  # the smallest instance holding 3
    assert skypilot.notes(three, "m", sold)[0] == (
        "the plan uses 3 H100-SXM; SkyPilot rents the smallest instance sold, 4 GPUs (1 idle)")
    twenty = train_row(gpu="H100-SXM", count=20, nodes=3, tp=4, dp=5)
    assert skypilot.instances(twenty, sold, None) == (3, 8)  # whole nodes: 3 x 8, 4 idle
    spec = check_skypilot(skypilot.render(twenty, None, sold))
    assert spec["resources"]["accelerators"] == "H100:8" and spec["num_nodes"] == "3"
    # any count where the shapes are not known (billed per GPU), and per_node from the result
    assert skypilot.instances(three, Launch(per_node={"H100-SXM": 8}), None) == (1, 3)
    assert skypilot.instances(twenty, None, 8) == (3, 8)


def test_skypilot_disk_is_weights_checkpoints_and_a_data_shard():
    from planner.export.context import Launch

    # 70B: 140 GB of bf16 weights, a 1120 GB checkpoint (16 B per parameter), 10 GB of data;
    # ZeRO-3 over 2 nodes: each node keeps its half of 2 checkpoints and half of the data
    launch = Launch(weights_bytes=140 * 10**9, train_checkpoint_bytes=1120 * 10**9,
                    dataset_bytes=10 * 10**9, per_node={"A100-80G": 8})
    row = train_row(count=16, nodes=2, tp=8, dp=2, zero=3)
    assert skypilot.disk_gb(row, launch, 2) == 256 + 140 + 1120 + 5
    # ZeRO-0, one GPU per model: every node saves the whole state (rank 0 writes it)
    plain = train_row(count=16, nodes=2, tp=1, dp=16, zero=0)
    assert skypilot.disk_gb(plain, launch, 2) == 256 + 140 + 2 * 1120 + 5
    spec = check_skypilot(skypilot.render(row, None, launch))
    assert spec["resources"]["disk_size"] == str(256 + 140 + 1120 + 5)


def test_a_service_states_its_checkpoint_or_is_warned():
    from planner.export.context import Launch, row_key

    data = result([serve_row(name="chat", weights="int4")])
    named = {row_key("chat", {}): Launch(checkpoint="org/chat-AWQ")}
    warnings: list = []
    files, _ = artifacts(data, "vllm", models={"qwen-7b": "org/base"}, launches=named, warnings=warnings)
    assert "exec vllm serve org/chat-AWQ " in files[0].text and warnings == []
    files, _ = artifacts(data, "vllm", models={"qwen-7b": "org/base"}, launches={}, warnings=warnings)
    assert "exec vllm serve org/base " in files[0].text
    assert [w.message for w in warnings] == [
        "serve 'chat' names no `checkpoint`: vLLM loads org/base, the base model's repository"]
    assert "(name it with the workload's `checkpoint`)" in files[0].text
    # --model beats the plan's checkpoint
    files, _ = artifacts(data, "vllm", models={"qwen-7b": "./awq"}, launches=named, override=True)
    assert "exec vllm serve ./awq " in files[0].text


def test_vllm_notes_a_checkpoint_below_the_served_precision_and_a_replica_over_nodes():
    bf16 = serve_row(weights="bf16")
    assert vllm.notes(bf16, "deepseek-ai/DeepSeek-R1", named=False, native="fp8") == [
        "deepseek-ai/DeepSeek-R1 is stored in fp8; serving bf16 weights needs a 16-bit checkpoint"
        " (name it with the workload's `checkpoint`)"]
    assert vllm.notes(bf16, "org/r1-bf16", named=True, native="fp8") == []
    spanning = serve_row(count=16, nodes=2, tp=16, replicas=1, weights="bf16")
    assert vllm.notes(spanning, "m")[0].startswith("a replica spans 2 nodes: run this command on every node"
                                                   " with --nnodes 2")
    uneven = serve_row(count=12, nodes=2, tp=4, replicas=3, weights="bf16")
    assert vllm.notes(uneven, "m") == ["3 replicas do not divide over 2 nodes: start one server per node"
                                       " with --data-parallel-size set to the replicas it holds (this"
                                       " command runs all 3 in one server)"]
