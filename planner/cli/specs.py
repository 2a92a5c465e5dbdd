"""``planner specs gpus`` and ``planner specs models``: list the shipped catalog.

The table shows human units (GiB, TFLOPS, TB/s, $/h, billions of parameters);
``--format json`` prints base units (bytes, FLOP/s, bytes/s, parameters),
entries sorted by name and keys sorted, so the output is stable byte for byte.
"""

from enum import Enum

import typer

from planner.cli.app import app

specs_app = typer.Typer(
    name="specs",
    help="List the shipped GPU and model catalog (specs/*.plan).",
    no_args_is_help=True,
)
app.add_typer(specs_app, name="specs")


class SpecsFormat(str, Enum):
    table = "table"
    json = "json"


_GPU_FIELDS = (
    "vendor", "memory", "bf16", "fp8", "int8", "hbm", "interconnect", "network",
    "per_node", "price", "price_date",
)
_MODEL_FIELDS = (
    "params", "layers", "hidden", "heads", "kv_heads", "head_dim", "ffn", "vocab", "tied",
    "mlp", "qkv_bias", "linear_bias", "norm", "positions", "max_context", "precision",
    "experts", "shared_experts", "experts_per_token", "expert_ffn", "dense_layers",
    "q_lora_rank", "kv_lora_rank", "qk_nope_dim", "qk_rope_dim", "v_head_dim",
    "norms_per_layer", "qk_norm", "sinks", "router_bias", "fused_qkv", "fused_gate_up",
    "rope_scaling",
)


def gpu_rows() -> list[dict]:
    """One dict per catalog GPU, base units, sorted by name."""
    from planner.resolve.load import load_std

    rows = []
    for gpu in sorted(load_std().gpus, key=lambda g: g.name):
        rows.append({"name": gpu.name, **{f: getattr(gpu, f) for f in _GPU_FIELDS}})
    return rows


def model_rows() -> list[dict]:
    """One dict per catalog model with the computed total and active parameters."""
    from planner.resolve.bridge import arch_from_model
    from planner.errors import PlanError
    from planner.estimate import param_counts
    from planner.resolve.load import load_std

    rows = []
    for model in sorted(load_std().models, key=lambda m: m.name):
        row = {"name": model.name, **{f: getattr(model, f) for f in _MODEL_FIELDS}}
        try:
            counts = param_counts(arch_from_model(model))
            row["computed_params"], row["active_params"] = counts.total, counts.active
        except PlanError:
            row["computed_params"] = row["active_params"] = None
        rows.append(row)
    return rows


def _num(value, scale: float, digits: int) -> str:
    return "-" if value is None else f"{value / scale:,.{digits}f}"


def _gpu_table(rows: list[dict]):
    from rich.table import Table

    table = Table(title="GPU catalog (specs/gpus.plan)")
    for header in ("GPU", "vendor", "memory GiB", "bf16 TFLOPS", "fp8 TFLOPS", "int8 TOPS",
                   "HBM TB/s", "in-node GB/s", "network Gb/s", "per node", "$/h", "price date"):
        left = header in ("GPU", "vendor", "price date")
        table.add_column(header, justify="left" if left else "right")
    for r in rows:
        table.add_row(
            r["name"], r["vendor"] or "-",
            _num(r["memory"], 2**30, 1),
            _num(r["bf16"], 1e12, 1), _num(r["fp8"], 1e12, 1), _num(r["int8"], 1e12, 1),
            _num(r["hbm"], 1e12, 2), _num(r["interconnect"], 1e9, 1),
            _num(None if r["network"] is None else r["network"] * 8, 1e9, 1),
            "-" if r["per_node"] is None else str(r["per_node"]),
            _num(r["price"], 1, 3), r["price_date"] or "-",
        )
    return table


def _attention(r: dict) -> str:
    if r["kv_lora_rank"]:
        return f"MLA kv{r['kv_lora_rank']}"
    heads, kv = r["heads"], r["kv_heads"] or r["heads"]
    return "MHA" if kv == heads else f"GQA {heads}/{kv}"


def _experts(r: dict) -> str:
    if not r["experts"]:
        return "-"
    shared = f"+{r['shared_experts']}" if r["shared_experts"] else ""
    return f"{r['experts']}{shared} top{r['experts_per_token']}"


def _model_table(rows: list[dict]):
    from rich.table import Table

    table = Table(title="Model catalog (specs/models.plan)")
    for header in ("model", "params B", "computed B", "active B", "layers", "hidden",
                   "attention", "ffn", "experts", "vocab", "context", "precision"):
        left = header in ("model", "attention", "experts", "precision")
        table.add_column(header, justify="left" if left else "right")
    for r in rows:
        table.add_row(
            r["name"], _num(r["params"], 1e9, 2), _num(r["computed_params"], 1e9, 2),
            _num(r["active_params"], 1e9, 2), str(r["layers"]), str(r["hidden"]),
            _attention(r), str(r["ffn"]), _experts(r), str(r["vocab"]),
            "-" if r["max_context"] is None else str(r["max_context"]), r["precision"] or "-",
        )
    return table


def _emit(rows: list[dict], key: str, format: SpecsFormat, table_of) -> None:
    if format is SpecsFormat.json:
        import json

        typer.echo(json.dumps({key: rows}, indent=2, sort_keys=True))
        return
    from rich.console import Console

    Console(width=200).print(table_of(rows))


@specs_app.command("gpus")
def gpus_command(
    format: SpecsFormat = typer.Option(SpecsFormat.table, "--format", "-f", help="Output format."),
) -> None:
    """List the catalog GPUs: memory, dense throughput, bandwidths, price."""
    _emit(gpu_rows(), "gpus", format, _gpu_table)


@specs_app.command("models")
def models_command(
    format: SpecsFormat = typer.Option(SpecsFormat.table, "--format", "-f", help="Output format."),
) -> None:
    """List the catalog models: published and computed parameters, shape, MoE and MLA."""
    _emit(model_rows(), "models", format, _model_table)
