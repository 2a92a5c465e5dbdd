"""The model and GPUs the serving-model tests share, as the shipped catalog has them."""

from __future__ import annotations

from planner.estimate.types import Arch, GpuSpec

# Llama-3.1-8B (huggingface.co/meta-llama/Llama-3.1-8B config.json).
LLAMA_8B = Arch(name="Llama-3.1-8B", layers=32, hidden=4096, heads=32, kv_heads=8, head_dim=128,
                ffn=14336, vocab=128256, max_context=131072)
# Datasheet figures (specs/gpus.plan).
H100 = GpuSpec(name="H100-SXM", memory_bytes=81559 * 2**20, usable_fraction=0.9,
               bf16_flops=989.4e12, fp8_flops=1978.9e12, int8_flops=1978.9e12,
               hbm_bytes_per_s=3.35e12, intra_node_bytes_per_s=450e9, inter_node_bytes_per_s=50e9,
               gpus_per_node=8, price_per_hour=3.78, train_utilization=0.45)
A100 = GpuSpec(name="A100-80G", memory_bytes=81920 * 2**20, usable_fraction=0.9, bf16_flops=312e12,
               fp8_flops=0.0, int8_flops=624e12, hbm_bytes_per_s=2039e9,
               intra_node_bytes_per_s=300e9, inter_node_bytes_per_s=6.25e9, gpus_per_node=8,
               price_per_hour=2.45, train_utilization=0.5)
L40S = GpuSpec(name="L40S", memory_bytes=46068 * 2**20, usable_fraction=0.9, bf16_flops=362.05e12,
               fp8_flops=733e12, int8_flops=733e12, hbm_bytes_per_s=864e9,
               intra_node_bytes_per_s=32e9, inter_node_bytes_per_s=6.25e9, gpus_per_node=8,
               price_per_hour=1.40, train_utilization=0.35)
