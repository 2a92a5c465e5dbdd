"""docs/estimation.md section 11 ("The 7B memory tables") in step with `planner estimate
examples/7b-memory.plan`, and the claims its prose makes about the figures."""

from __future__ import annotations

import pytest

from support import seven_b


@pytest.fixture(scope="module")
def rows() -> dict[str, dict]:
    return seven_b.estimated()


def test_the_docs_tables_are_the_estimates(rows):
    doc = seven_b.DOC.read_text(encoding="utf-8")
    assert seven_b.embedded(doc) == seven_b.markdown(rows), \
        "docs/estimation.md's 7B tables are stale: run `python tests/regen_golden.py`"


def test_every_row_is_pinned_and_fits(rows):
    assert len(rows) == 7 + 6
    for row in rows.values():
        assert row["filled"] == [] and row["fits"], row["name"]


def _total(rows, name: str) -> float:
    return rows[name]["memory_per_gpu_bytes"]["total"]


def test_the_prose_claims_hold(rows):
    mem = {name: row["memory_per_gpu_bytes"] for name, row in rows.items()}
    # Llama-2-7B: 6.74B parameters, 16-bit weights and gradients at 2 bytes each
    assert mem["full"]["weights"] == pytest.approx(2 * 6.738e9, rel=1e-3)
    assert mem["full"]["gradients"] == mem["full"]["weights"]
    # mixed-precision AdamW: fp32 master, m and v, 12 bytes a parameter (ZeRO sec 3.1)
    assert mem["full"]["optimizer"] == pytest.approx(6 * mem["full"]["weights"], rel=1e-3)
    # LoRA rank 64 on all seven projections: 159,907,840 adapters at 2 + 12 bytes
    assert mem["lora"]["gradients"] + mem["lora"]["optimizer"] == pytest.approx(14 * 159_907_840, rel=1e-3)
    # the KV cache of one 2,048-token sequence: 2 x 32 layers x 4,096 x 2 bytes a token
    assert mem["infer-16bit"]["kv_cache"] == pytest.approx(2048 * 2 * 32 * 4096 * 2, rel=1e-3)
    # Qwen-7B LoRA within 2.5% of the measured figures read as 10^9 bytes
    for seq in seven_b.SEQ_LENS:
        measured = seven_b.QWEN["qwen-lora"][seq] * 1e9
        assert _total(rows, f"qwen-lora[seq_len={seq}]") == pytest.approx(measured, rel=0.025)
    # the growth from 1,024 to 4,096 tokens is the measured 8.2 (29.7 - 21.5)
    growth = _total(rows, "qwen-lora[seq_len=4096]") - _total(rows, "qwen-lora[seq_len=1024]")
    assert growth == pytest.approx(8.2e9, abs=0.1e9)
    # Q-LoRA: within 7% at 1,024 and 2,048 tokens, over at 4,096 (19.7 GB vs 16.9)
    for seq in (1024, 2048):
        measured = seven_b.QWEN["qwen-qlora"][seq] * 1e9
        assert _total(rows, f"qwen-qlora[seq_len={seq}]") == pytest.approx(measured, rel=0.07)
    assert _total(rows, "qwen-qlora[seq_len=4096]") / 1e9 == pytest.approx(19.7, abs=0.05)
    # the same activations for LoRA and Q-LoRA
    for seq in seven_b.SEQ_LENS:
        assert mem[f"qwen-lora[seq_len={seq}]"]["activations"] == mem[f"qwen-qlora[seq_len={seq}]"]["activations"]
