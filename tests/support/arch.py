"""The GPU and the small model the estimator tests share."""

from __future__ import annotations

from planner.estimate.types import Arch, GpuSpec

# A100 80GB SXM (NVIDIA A100 datasheet): 312 TFLOPS bf16, 624 TOPS int8, 2039 GB/s HBM,
# NVLink 300 GB/s per direction in a node of 8; 25 GB/s (200 Gbps) per GPU between nodes.
A100_80G = GpuSpec(name="A100-80G", memory_bytes=81920 * 2**20, usable_fraction=0.9, bf16_flops=312e12,
                   fp8_flops=0.0, int8_flops=624e12, hbm_bytes_per_s=2039e9, intra_node_bytes_per_s=300e9,
                   inter_node_bytes_per_s=25e9, gpus_per_node=8, price_per_hour=1.79, train_utilization=0.5)
TINY = Arch(name="tiny", layers=4, hidden=256, heads=4, kv_heads=2, head_dim=64, ffn=512, vocab=1000)
# DeepSeek-R1-Distill-Qwen-7B's config.json (Qwen2: q/k/v biases, untied embeddings).
QWEN_7B = Arch(name="DeepSeek-R1-Distill-Qwen-7B", layers=28, hidden=3584, heads=28, kv_heads=4,
               head_dim=128, ffn=18944, vocab=152064, tied=False, qkv_bias=True)
