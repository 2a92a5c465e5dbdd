"""``planner estimate FILE``: memory and time of one layout per workload, without the solver."""

import sys
from typing import Optional

import typer

from planner.cli.app import app

_FORMATS = ("table", "json")


@app.command("estimate")
def estimate_command(
    file: str = typer.Argument(..., metavar="FILE", help="The plan whose workload to estimate."),
    workload: Optional[str] = typer.Option(
        None, "--workload", "-w", help="Only this workload, or one sweep variant as solve labels it: 'tune\\[dataset=1GB]'."),
    gpu: Optional[str] = typer.Option(None, "--gpu", help="GPU type (a catalog or plan name)."),
    count: Optional[str] = typer.Option(None, "--count", help="GPUs in total."),
    tp: Optional[str] = typer.Option(None, "--tp", help="Tensor-parallel degree."),
    pp: Optional[str] = typer.Option(None, "--pp", help="Pipeline-parallel stages."),
    dp: Optional[str] = typer.Option(None, "--dp", help="Data-parallel degree (training)."),
    ep: Optional[str] = typer.Option(None, "--ep", help="Expert-parallel degree (MoE)."),
    zero: Optional[str] = typer.Option(None, "--zero", help="ZeRO stage 0-3 (training)."),
    recompute: Optional[str] = typer.Option(None, "--recompute", help="none | selective | full."),
    micro_batch: Optional[str] = typer.Option(None, "--micro-batch", help="Sequences per micro-batch."),
    offload: Optional[str] = typer.Option(None, "--offload", help="none | optimizer | all."),
    replicas: Optional[str] = typer.Option(None, "--replicas", help="Model copies (serving)."),
    sp: Optional[str] = typer.Option(None, "--sp", help="Sequence parallelism: true | false (training)."),
    cp: Optional[str] = typer.Option(None, "--cp", help="Context-parallel degree (training)."),
    shard: Optional[str] = typer.Option(None, "--shard", help="ZeRO-3 partition group: N | node."),
    vpp: Optional[str] = typer.Option(None, "--vpp", help="Interleaved stages per GPU (training)."),
    weights: Optional[str] = typer.Option(None, "--weights", help="Weight precision (serve, finetune)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table | json"),
) -> None:
    """Memory per GPU (and host), time and throughput of one layout of each workload.

    The plan's `layout { }` pins, with the options above on top; what is left unpinned is
    filled by the search's best for that workload (the output says which). Training: step
    time split into compute, communication and bubble, tokens/s and MFU. Serving: TTFT,
    TPOT and throughput. Exit 0 when every row fits and meets its limits, 1 when one does
    not (the output says why), 2 on bad input.

    Example:

        planner estimate examples/tour.plan --workload chat --gpu A10G --tp 1 --replicas 1
    """
    from planner.cli.loading import load_plan_with_warnings
    from planner.errors import PlanError
    from planner.layout_estimate import convert_pins, estimate_plan, select, with_pins
    from planner.render.estimate import render_json, render_text

    if fmt not in _FORMATS:
        print(f"error: --format {fmt!r}: expected one of {', '.join(_FORMATS)}", file=sys.stderr)
        sys.exit(2)
    options = dict(count=count, tp=tp, pp=pp, dp=dp, ep=ep, zero=zero, recompute=recompute,
                   micro_batch=micro_batch, offload=offload, replicas=replicas, sp=sp, cp=cp,
                   shard=shard, vpp=vpp)
    pins = convert_pins({k: v for k, v in options.items() if v is not None})
    if gpu is not None:
        if not gpu.strip():
            raise PlanError("--gpu: expected a GPU name")
        pins["gpu"] = gpu
    chosen = select(load_plan_with_warnings(file), workload)
    plan = with_pins(chosen.plan, chosen.workload, pins, weights)
    report = estimate_plan(plan, file, chosen.workload, chosen.scenario)
    sys.stdout.write(render_json(report) if fmt == "json" else render_text(report))
    sys.exit(report.exit_code)
