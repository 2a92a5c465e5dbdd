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

# Training utilization (the achieved fraction of peak in a step's matmuls) when neither the
# workload nor the GPU block sets one: the GPU's best-shape matmul fraction (MAMF) times
# efficiency.TRAIN_MATMUL_FRACTION, derived from Megatron-LM 2021 Table 1
# (docs/estimation.md sec 5, "Compute"). GPUs without a MAMF measurement take their
# vendor's lowest (engines.MAMF_FLOOR).
def default_train_utilization(gpu_name: str, vendor: str) -> float:
    """Default training utilization for a GPU type (see above)."""
    from planner.estimate.efficiency import default_utilization

    return default_utilization(gpu_name, vendor)


# The training stack by method, when a workload sets none (docs/estimation.md sec 3,
# "Stacks"): pretraining on Megatron-LM (the stack of every published large pretraining run
# we check against: Megatron-LM 2021, Korthikanti 2022, Megatron-Core); full fine-tuning on
# DeepSpeed ZeRO (the ZeRO stages and offload modes the layout names are DeepSpeed's);
# LoRA and QLoRA on Hugging Face transformers + PEFT (the QLoRA paper's own code,
# artidoro/qlora, and PEFT's documented recipes).
DEFAULT_STACK = {"pretrain": "megatron", "full": "deepspeed", "lora": "hf", "qlora": "hf"}


def default_stack(kind: str, method: str) -> str:
    """The training stack of a workload of ``kind`` (pretrain | finetune) and ``method``."""
    return DEFAULT_STACK["pretrain" if kind == "pretrain" else method]
