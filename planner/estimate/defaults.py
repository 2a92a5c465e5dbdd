"""Named defaults for what a plan may leave out, each with its source.

The resolver fills omitted workload and GPU fields from here; the plan may
override every one of them.
"""

from __future__ import annotations

from planner.estimate.arch import LORA_TARGET_NAMES

# Dataset bytes -> tokens. English prose with modern BPE tokenizers averages about
# 4 characters (bytes, for ASCII) per token: OpenAI's tokenizer guidance "1 token ~ 4
# characters of English text", and the measurements of arXiv:2601.11518 ("How Long Is a
# Piece of String? A Brief Empirical Analysis of Tokenizers", 2026), which also show
# code and non-Latin scripts run lower; set ``bytes_per_token`` in the plan for those.
BYTES_PER_TOKEN = 4.0  # bytes / token

# Fine-tuning sequence length: 4096 tokens, the context length of Llama 2
# (config.json max_position_embeddings 4096), the common SFT packing length.
DEFAULT_FINETUNE_SEQ_LEN = 4096  # tokens

# Pretraining sequence length: 8192, Llama 3's main pretraining stage
# (arXiv:2407.21783 sec 3.4.1 and Table 4, seq 8192).
DEFAULT_PRETRAIN_SEQ_LEN = 8192  # tokens

# Global batch for pretraining: 4M tokens, Llama 2's batch (arXiv:2307.09288 sec 2.2,
# "global batch-size of 4M tokens") and Llama 3's initial one (arXiv:2407.21783 sec 3.4.1).
DEFAULT_GLOBAL_BATCH_TOKENS = 4 * 1024 * 1024  # tokens per optimizer step

# Global batch for fine-tuning: 16 sequences, the batch size of QLoRA's Guanaco runs
# (Dettmers et al. 2023, arXiv:2305.14314, Appendix B hyperparameters).
DEFAULT_FINETUNE_GLOBAL_BATCH = 16  # sequences per optimizer step


def default_global_batch(pretrain: bool, seq_len: int) -> int:
    """Sequences per optimizer step when a plan sets no ``batch``.

    Fine-tuning: DEFAULT_FINETUNE_GLOBAL_BATCH. Pretraining: DEFAULT_GLOBAL_BATCH_TOKENS
    // seq_len, rounded down to a power of two so that every power-of-two DP degree and
    micro-batch divide it (at least 1).
    """
    if not pretrain:
        return DEFAULT_FINETUNE_GLOBAL_BATCH
    return 1 << (max(1, DEFAULT_GLOBAL_BATCH_TOKENS // seq_len).bit_length() - 1)

# LoRA rank 64: QLoRA (arXiv:2305.14314, sec 4 / Appendix B.2) uses r = 64 throughout.
DEFAULT_LORA_RANK = 64

# All linear layers of every block: QLoRA sec 4 finds adapters on all linear layers are
# needed to match full fine-tuning ("LoRA on all linear transformer block layers").
DEFAULT_LORA_TARGETS = LORA_TARGET_NAMES

# Share of a serving context that is prompt (prefilled) when ``prompt`` is omitted:
# 3/4, the chat shape used in the design brief's example (context 8k, prompt 6k).
# An assumption, not a measurement; set ``prompt`` in the plan when known.
DEFAULT_PROMPT_FRACTION = 0.75

# Share of GPU memory a job may allocate: vLLM's default gpu_memory_utilization = 0.9
# (vLLM engine arguments; "It will use 90% of the total GPU memory by default").
DEFAULT_USABLE_FRACTION = 0.9

# KV cache precision: the model's 16-bit dtype, vLLM kv_cache_dtype "auto".
DEFAULT_KV_PRECISION = "bf16"

# One month of service: 8760 h / 12 = 730 h (the cloud providers' monthly-hours convention).
SERVICE_HOURS = 730.0  # hours

# Model-FLOPs utilization for training, by GPU class: the fraction of dense bf16 peak the
# matrix multiplies sustain; pipeline bubble and exposed communication come on top
# (planner.estimate.timing). Sources:
#  - Hopper (H100/H200/H800/GH200): Llama 3 (arXiv:2407.21783) Table 4 reports 38-43 % BF16
#    MFU end to end at 8-16K H100s, bubble and communication included; the kernels alone
#    therefore run somewhat higher: 0.45.
#  - Ampere A100: Narayanan et al. 2021 (arXiv:2104.04473) Table 1, 44-52 % of peak end to end
#    on up to 3072 A100s: 0.50.
#  - Blackwell (B100/B200/GB200): no published large-run MFU at writing; Hopper's 0.45
#    until measured.
#  - inference/workstation GPUs (A10/A10G, L4, L40/L40S, RTX, T4, V100): smaller memory,
#    smaller batches and PCIe-only nodes; 0.35.
#  - AMD Instinct (MI250/MI300X/MI325X): 0.35, a conservative figure for a younger
#    software stack (the plan should set ``utilization`` from its own runs).
TRAIN_UTILIZATION_HOPPER = 0.45
TRAIN_UTILIZATION_AMPERE = 0.50
TRAIN_UTILIZATION_BLACKWELL = 0.45
TRAIN_UTILIZATION_INFERENCE_CLASS = 0.35
TRAIN_UTILIZATION_AMD = 0.35
TRAIN_UTILIZATION_OTHER = 0.35

_CLASSES = (
    (("H100", "H200", "H800", "H20", "GH200"), TRAIN_UTILIZATION_HOPPER),
    (("B100", "B200", "B300", "GB200", "GB300"), TRAIN_UTILIZATION_BLACKWELL),
    (("A100", "A800"), TRAIN_UTILIZATION_AMPERE),
)


def default_train_utilization(gpu_name: str, vendor: str) -> float:
    """Default training model-FLOPs utilization for a GPU, by its class (see above)."""
    if vendor.lower() == "amd":
        return TRAIN_UTILIZATION_AMD
    name = gpu_name.upper()
    for prefixes, value in _CLASSES:
        if any(p in name for p in prefixes):
            return value
    return TRAIN_UTILIZATION_INFERENCE_CLASS if vendor.lower() == "nvidia" else TRAIN_UTILIZATION_OTHER
