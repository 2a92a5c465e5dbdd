"""Bytes per parameter and per KV element, by precision, with quantization overhead.

Quantized formats store low-bit codes plus scales per group of weights; the
scales are part of the memory a checkpoint needs. Only linear weight matrices
are quantized (GPTQ, AWQ, bitsandbytes and fp8 checkpoints keep embeddings,
the output head, norms and biases in 16 bit), see ``weight_bytes``.
"""

from __future__ import annotations

# int4 (GPTQ / AWQ, W4A16): 4-bit codes, one fp16 scale and one 4-bit zero point per
# group of 128 weights along the input dimension. Group size 128 is the default of
# AutoAWQ (``q_group_size: 128``) and of GPTQ checkpoints (``group_size: 128`` in
# quantize_config.json); zeros are packed eight per int32 (``qzeros``) = 0.5 byte each.
INT4_GROUP = 128
INT4_SCALE_BYTES = 2.0  # fp16 scale per group
INT4_ZERO_BYTES = 0.5  # packed 4-bit zero point per group
INT4_BYTES = 0.5 + (INT4_SCALE_BYTES + INT4_ZERO_BYTES) / INT4_GROUP  # 0.51953125

# NF4 with double quantization (Dettmers et al. 2023, QLoRA, arXiv:2305.14314, sec 3
# "Double Quantization"): blocks of 64 weights share an absmax constant; the constants
# are themselves quantized to fp8 in blocks of 256 with one fp32 second-level constant.
# Per parameter: 4 bits + 8/64 bits + 32/(64*256) bits = 4.127 bits (paper: 0.127 bits).
NF4_BLOCK = 64
NF4_SECOND_BLOCK = 256
NF4_BYTES = 0.5 + 1.0 / NF4_BLOCK + 4.0 / (NF4_BLOCK * NF4_SECOND_BLOCK)  # 0.515869140625

# fp8 e4m3 with 128x128 block scales in fp32, as the DeepSeek-V3 checkpoint stores them
# (DeepSeek-V3 tech report sec 3.3.2; github:deepseek-ai/DeepSeek-V3 README_WEIGHTS.md
# ``weight_block_size: [128, 128]``, ``weight_scale_inv`` fp32).
FP8_BLOCK = 128 * 128
FP8_BYTES = 1.0 + 4.0 / FP8_BLOCK  # 1.000244140625

# int8 (W8A8 / LLM.int8): one scale per output channel; 4/in_features bytes per
# weight (< 0.1 % for hidden >= 4096), left out.
INT8_BYTES = 1.0

WEIGHT_BYTES: dict[str, float] = {
    "fp32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": FP8_BYTES,
    "int8": INT8_BYTES,
    "int4": INT4_BYTES,
    "nf4": NF4_BYTES,
}

# KV cache element size. fp8 KV uses one per-tensor scale (vLLM kv_cache_dtype fp8):
# negligible.
KV_BYTES: dict[str, int] = {"fp32": 4, "bf16": 2, "fp16": 2, "fp8": 1}


def lookup(table: dict, key: str, what: str):
    """``table[key]``, or a ValueError naming ``what`` was unknown and the choices."""
    try:
        return table[key]
    except KeyError:
        raise ValueError(f"unknown {what} {key!r}; expected one of {sorted(table)}") from None


def bytes_per_param(precision: str) -> float:
    """Bytes one quantizable (linear) weight takes, scales included."""
    return lookup(WEIGHT_BYTES, precision, "weight precision")


def unquantized_bytes(precision: str) -> float:
    """Bytes of parameters a quantizer leaves alone (embeddings, head, norms, biases)."""
    return 4.0 if precision == "fp32" else 2.0


def weight_bytes(linear: float, other: float, precision: str) -> float:
    """Bytes of ``linear`` matrix weights at ``precision`` plus ``other`` params in 16 bit."""
    return linear * bytes_per_param(precision) + other * unquantized_bytes(precision)


def kv_element_bytes(precision: str) -> int:
    return lookup(KV_BYTES, precision, "KV precision")
