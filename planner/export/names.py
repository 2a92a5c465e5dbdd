"""Names the launch tools use for what the plan names: GPUs and model checkpoints.

SkyPilot accelerator names are SkyPilot's canonical names (``sky show-gpus``;
sky/utils/accelerator_registry.py of skypilot-org/skypilot lists A100,
A100-80GB, A10G, A10, L4, T4, V100, V100-32GB; H100, H200, B200, GH200, L40S,
L40, MI300X, RTX3090, RTX4090 and RTXA6000 come from its cloud catalogs and
provider name maps, e.g. sky/provision/seeweb). SkyPilot names a GPU model,
not its form factor, so SXM and PCIe variants share a name. The left side
covers the spellings the shipped catalog (specs/gpus.plan) and plans use; a
GPU SkyPilot has no name for (H100-NVL, H20, H800, MI250X, MI325X) keeps the
plan's name, which ``sky`` then looks up in its catalogs.

Hugging Face repository ids are those of the config.json each catalog model
was copied from (the ``source:`` comment above each model in
specs/models.plan).
"""

from __future__ import annotations

from planner.result import Row

import re

# plan GPU name (normalised: upper case, no spaces/underscores) -> SkyPilot accelerator
SKYPILOT_GPUS = {
    "A100-80G": "A100-80GB",
    "A100-80GB": "A100-80GB",
    "A100-SXM4-80GB": "A100-80GB",
    "A100-80G-PCIE": "A100-80GB",
    "A100-40G-PCIE": "A100",
    "A100": "A100",
    "A100-40G": "A100",
    "A100-40GB": "A100",
    "A10G": "A10G",
    "A10": "A10",
    "L4": "L4",
    "L40": "L40",
    "L40S": "L40S",
    "T4": "T4",
    "V100": "V100",
    "V100-16G": "V100",
    "V100-16GB": "V100",
    "V100-32G": "V100-32GB",
    "V100-32GB": "V100-32GB",
    "H100": "H100",
    "H100-80G": "H100",
    "H100-80GB": "H100",
    "H100-SXM": "H100",
    "H100-PCIE": "H100",
    "H200": "H200",
    "H200-141G": "H200",
    "H200-141GB": "H200",
    "B200": "B200",
    "GH200": "GH200",
    "MI300X": "MI300X",
    "RTX-3090": "RTX3090",
    "RTX-4090": "RTX4090",
    "RTX-A6000": "RTXA6000",
}

# catalog model name -> Hugging Face repository id (vLLM's MODEL argument)
HF_REPOS = {
    "DeepSeek-V3": "deepseek-ai/DeepSeek-V3",
    "DeepSeek-R1": "deepseek-ai/DeepSeek-R1",
    "DeepSeek-R1-Distill-Qwen-1.5B": "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
    "DeepSeek-R1-Distill-Qwen-7B": "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
    "DeepSeek-R1-Distill-Qwen-14B": "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B",
    "DeepSeek-R1-Distill-Qwen-32B": "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B",
    "DeepSeek-R1-Distill-Llama-8B": "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
    "DeepSeek-R1-Distill-Llama-70B": "deepseek-ai/DeepSeek-R1-Distill-Llama-70B",
    "Llama-2-7B": "meta-llama/Llama-2-7b-hf",
    "Llama-2-13B": "meta-llama/Llama-2-13b-hf",
    "Llama-2-70B": "meta-llama/Llama-2-70b-hf",
    "Llama-3.1-8B": "meta-llama/Llama-3.1-8B",
    "Llama-3.1-70B": "meta-llama/Llama-3.1-70B",
    "Llama-3.1-405B": "meta-llama/Llama-3.1-405B",
    "Qwen2.5-7B": "Qwen/Qwen2.5-7B",
    "Qwen2.5-14B": "Qwen/Qwen2.5-14B",
    "Qwen2.5-32B": "Qwen/Qwen2.5-32B",
    "Qwen2.5-72B": "Qwen/Qwen2.5-72B",
    "Mistral-7B": "mistralai/Mistral-7B-v0.1",
    "Mixtral-8x7B": "mistralai/Mixtral-8x7B-v0.1",
    "Mixtral-8x22B": "mistralai/Mixtral-8x22B-v0.1",
    "OPT-13B": "facebook/opt-13b",
    "OPT-66B": "facebook/opt-66b",
}


def _normal(name: str) -> str:
    return re.sub(r"[\s_]+", "-", name.strip()).upper()


def skypilot_gpu(name: str) -> str:
    """SkyPilot's accelerator name; a GPU it does not know keeps the plan's name."""
    return SKYPILOT_GPUS.get(_normal(name), name)


# GPUs without bf16 tensor cores (before Ampere: Volta V100, Turing T4, Pascal P100/P40/P4,
# Kepler K80); bf16 arrived with Ampere (NVIDIA A100 Tensor Core GPU Architecture
# whitepaper, 2020, "BF16"). Training on these uses fp16 mixed precision instead.
_NO_BF16 = re.compile(r"^(V100|T4|P100|P40|P4|K80)(-|$)")


def has_bf16(name: str) -> bool:
    return not _NO_BF16.match(_normal(name))


def row_words(row: Row) -> str:
    """A row's workload name and sweep scenario (keys sorted) joined by dashes, before
    each tool's own character rules: ``tune-dataset-1GB``."""
    scenario = row.scenario
    return "-".join([row.name] + [f"{k}-{scenario[k]}" for k in sorted(scenario)])


def header(row: Row) -> str:
    """The comment every exported script or YAML starts with."""
    return f"# planner export: {row.name} on {row.gpu_count}x{row.gpu}"
