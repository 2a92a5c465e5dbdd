"""The bridge from checked plan blocks to the estimator's plain data.

``arch_from_model`` turns a resolved ``plan.Model`` into an ``Arch`` and
``gpu_spec`` a ``plan.Gpu`` into a ``GpuSpec``. What a block may omit gets a
documented default (below, or ``planner.estimate.defaults``); what the
estimator cannot do without raises ``PlanTypeError`` at the block, naming the
field and what to write.
"""

from __future__ import annotations

from pathlib import Path

from planner import plan
from planner.errors import PlanTypeError
from planner.estimate.types import Arch, Calibrated, Factors, GpuSpec

# Fields an Arch cannot be built without, with what each one is for (the load
# checks, planner.resolve.checks, list the missing ones from this table too).
MODEL_REQUIRED = {
    "layers": "the layer count (num_hidden_layers)",
    "hidden": "the model width (hidden_size)",
    "heads": "the attention head count (num_attention_heads)",
    "ffn": "the MLP width (intermediate_size)",
    "vocab": "the vocabulary size (vocab_size)",
}
_MOE_REQUIRED = {
    "experts_per_token": "routed experts per token (num_experts_per_tok)",
    "expert_ffn": "the expert MLP width (moe_intermediate_size)",
}
_MLA_REQUIRED = {
    "qk_nope_dim": "the non-rotary query/key head size (qk_nope_head_dim)",
    "qk_rope_dim": "the rotary query/key head size (qk_rope_head_dim)",
    "v_head_dim": "the value head size (v_head_dim)",
}

# Fields a GpuSpec cannot be built without: what each is, and an example to write
# (usable and utilization have documented defaults, fp8/int8 mean 0 when unset).
GPU_REQUIRED = {
    "memory": "device memory (memory = 81920MiB)",
    "bf16": "dense bf16 throughput (bf16 = 312TFLOPS)",
    "hbm": "memory bandwidth (hbm = 2039GB/s)",
    "interconnect": "per-GPU bandwidth inside a node (interconnect = 300GB/s)",
    "network": "per-GPU bandwidth between nodes (network = 50Gbps)",
    "per_node": "GPUs per node (per_node = 8)",
    "price": "the price per GPU-hour (price = 1.79/h)",
}


def _require(kind: str, node, fields: dict[str, str]) -> None:
    """PlanTypeError at the block for the first field (in table order) it lacks."""
    for field, what in fields.items():
        if getattr(node, field) is None:
            hint = f"set `{field}` in the {kind} block"
            if kind == "model":
                hint += ", or start from a model that has it with `like` or `config`"
            raise PlanTypeError(
                f"{kind} {node.name!r} has no `{field}`, needed for {what}", node.span, hint
            )


def arch_from_model(model: plan.Model) -> Arch:
    """The estimator's view of a resolved model block.

    Defaults for omitted fields, matching the Llama family and the
    transformers config classes: kv_heads = heads (multi-head attention),
    head_dim = hidden / heads (for MLA: qk_nope_dim + qk_rope_dim, the
    query/key size the attention scores use), untied embeddings, SwiGLU,
    RMSNorm, no biases, rotary positions, bf16 weights, no MoE, no MLA.
    A model with ``experts`` > 0 must give the MoE fields; one with
    ``kv_lora_rank`` > 0 the MLA fields.
    """
    m = model
    _require("model", m, MODEL_REQUIRED)
    experts = m.experts or 0
    if experts:
        _require("model", m, _MOE_REQUIRED)
    kv_lora = m.kv_lora_rank or 0
    if kv_lora:
        _require("model", m, _MLA_REQUIRED)
    if m.head_dim is not None:
        head_dim = m.head_dim
    elif kv_lora:
        head_dim = (m.qk_nope_dim or 0) + (m.qk_rope_dim or 0)
    else:
        if m.hidden % m.heads:
            raise PlanTypeError(
                f"model {m.name!r}: hidden {m.hidden} is not a multiple of heads {m.heads}",
                m.span,
                "set `head_dim` explicitly",
            )
        head_dim = m.hidden // m.heads
    _consistent(m, experts, kv_lora)
    return Arch(
        name=m.name,
        layers=m.layers,
        hidden=m.hidden,
        heads=m.heads,
        kv_heads=m.kv_heads if m.kv_heads is not None else m.heads,
        head_dim=head_dim,
        ffn=m.ffn,
        vocab=m.vocab,
        tied=bool(m.tied),
        gated_mlp=(m.mlp or "gated") == "gated",
        qkv_bias=bool(m.qkv_bias),
        norm=m.norm or "rms",
        positions=m.positions or 0,
        linear_bias=bool(m.linear_bias),
        qk_norm=bool(m.qk_norm),
        norms_per_layer=m.norms_per_layer if m.norms_per_layer is not None else 2,
        sinks=bool(m.sinks),
        router_bias=bool(m.router_bias) if experts else False,
        fused_qkv=bool(m.fused_qkv),
        fused_gate_up=bool(m.fused_gate_up),
        precision=m.precision or "bf16",
        max_context=m.max_context or 0,
        experts=experts,
        shared_experts=(m.shared_experts or 0) if experts else 0,
        experts_per_token=(m.experts_per_token or 0) if experts else 0,
        expert_ffn=(m.expert_ffn or 0) if experts else 0,
        dense_layers=(m.dense_layers or 0) if experts else 0,
        q_lora_rank=(m.q_lora_rank or 0) if kv_lora else 0,
        kv_lora_rank=kv_lora,
        qk_nope_dim=(m.qk_nope_dim or 0) if kv_lora else 0,
        qk_rope_dim=(m.qk_rope_dim or 0) if kv_lora else 0,
        v_head_dim=(m.v_head_dim or 0) if kv_lora else 0,
    )


def _consistent(m: plan.Model, experts: int, kv_lora: int) -> None:
    """Shapes no model has: each is an error at the field that breaks it."""
    def fail(field: str, message: str) -> PlanTypeError:
        return PlanTypeError(f"model {m.name!r}: {message}", m.spans.get(field, m.span))

    kv_heads = m.kv_heads if m.kv_heads is not None else m.heads
    if not kv_lora and (kv_heads > m.heads or m.heads % kv_heads):
        # grouped-query attention shares each KV head among heads / kv_heads query heads
        raise fail("kv_heads", f"kv_heads {kv_heads} must divide heads {m.heads}")
    if experts:
        per_token = m.experts_per_token or 0
        if not 1 <= per_token <= experts:
            raise fail("experts_per_token", f"experts_per_token {per_token} must be from 1 to the "
                                            f"{experts} experts")
        if (m.dense_layers or 0) > m.layers:
            raise fail("dense_layers", f"dense_layers {m.dense_layers} is more than the {m.layers} layers")


def _shipped_under_plan(node: plan.Node, inherited: str, written: str) -> bool:
    """Did ``inherited`` come from the shipped catalog and ``written`` from a plan's own file
    (a refinement of a catalog block)?"""
    from planner.resources import specs_dir

    a, b = node.spans.get(inherited), node.spans.get(written)
    if a is None or b is None or a.file == b.file:
        return False
    return Path(a.file).resolve().parent == specs_dir().resolve()


def calibrated_factors(calibrations) -> tuple[Calibrated, ...]:
    """The estimator's view of calibration blocks (all for one GPU type), in plan order."""
    out = []
    for c in calibrations:
        scope, target = c.scope
        out.append(Calibrated(scope, target, Factors(
            step_overhead=c.step_overhead, hbm_fraction=c.hbm_fraction,
            compute_fraction=c.compute_fraction, utilization=c.utilization,
            collective_efficiency=c.collective_efficiency)))
    return tuple(out)


def gpu_spec(gpu: plan.Gpu, calibrations=()) -> GpuSpec:
    """The solver's view of a resolved GPU block.

    ``usable`` defaults to ``DEFAULT_USABLE_FRACTION`` for serving and to all of the memory
    for training (which counts its CUDA context and allocator reserve as overhead), and
    ``utilization`` to ``default_train_utilization(name, vendor)`` (planner.estimate.defaults);
    fp8/int8 left out mean no such tensor cores (0); vendor defaults to nvidia. ``shapes``
    must end at ``per_node``: the largest instance sold is a node.
    ``calibrations``: the plan's calibration blocks; those for this GPU type are attached
    (docs/calibration.md).
    """
    from planner.estimate import defaults, rent  # the estimator package owns these numbers

    g = gpu
    _require("gpu", g, GPU_REQUIRED)
    vendor = g.vendor or "nvidia"
    shapes = tuple(sorted(g.shapes or ()))
    if shapes and shapes[-1] != g.per_node and _shipped_under_plan(g, "shapes", "per_node"):
        # a plan that changes a catalog GPU's per_node keeps the smaller sizes sold and
        # sells its node whole (it did not restate shapes: nothing it wrote is overruled)
        shapes = tuple(s for s in shapes if s < g.per_node) + (g.per_node,)
    if shapes and shapes[-1] != g.per_node:
        raise PlanTypeError(
            f"gpu {g.name!r}: the largest of `shapes` {list(shapes)} is a node, but per_node = {g.per_node}",
            g.spans.get("shapes", g.span),
            f"sell whole nodes with `shapes = [..., {g.per_node}]`, or set `per_node = {shapes[-1]}`")
    return GpuSpec(
        name=g.name,
        memory_bytes=g.memory,
        usable_fraction=g.usable if g.usable is not None else defaults.DEFAULT_USABLE_FRACTION,
        bf16_flops=g.bf16,
        fp8_flops=g.fp8 or 0.0,
        int8_flops=g.int8 or 0.0,
        hbm_bytes_per_s=g.hbm,
        intra_node_bytes_per_s=g.interconnect,
        inter_node_bytes_per_s=g.network,
        gpus_per_node=g.per_node,
        price_per_hour=g.price,
        train_utilization=(
            g.utilization
            if g.utilization is not None
            else defaults.default_train_utilization(g.name, vendor)
        ),
        vendor=vendor,
        train_usable_fraction=g.usable if g.usable is not None else 1.0,
        shapes=shapes,
        host_ram_bytes=g.host_ram,
        host_cpus=g.host_cpus,
        host_nvme_bytes=g.host_nvme,
        billing_seconds=None if g.billing is None else rent.BILLING_SECONDS[g.billing],
        storage_read_bytes_per_s=g.storage_read,
        storage_write_bytes_per_s=g.storage_write,
        interruptions_per_month=g.interruptions,
        family=g.like,
        calibrations=calibrated_factors(c for c in calibrations if c.gpu == g.name),
    )
