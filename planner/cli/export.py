"""``planner export FILE --to deepspeed|vllm|skypilot [--workload NAME] [-o DIR]``."""

import os
import sys
from enum import Enum
from typing import Optional

import typer

from planner.cli.app import app


class Target(str, Enum):
    deepspeed = "deepspeed"
    vllm = "vllm"
    skypilot = "skypilot"


@app.command("export")
def export_command(
    file: str = typer.Argument(..., metavar="FILE", help="The plan to solve and export."),
    to: Target = typer.Option(..., "--to", help="deepspeed | vllm | skypilot"),
    workload: Optional[str] = typer.Option(None, "--workload", "-w", help="Only this workload."),
    output: Optional[str] = typer.Option(
        None, "--output", "-o", metavar="DIR", help="Write one file per row into DIR (default: stdout)."
    ),
    model: Optional[str] = typer.Option(
        None, "--model", metavar="ID|PATH",
        help="Checkpoint for vLLM/SkyPilot commands (default: the catalog model's Hugging Face id).",
    ),
    time_limit: float = typer.Option(10.0, "--time-limit", help="Seconds for the solve."),
) -> None:
    """Write launch configs for the solved layout: DeepSpeed JSON, vLLM command, SkyPilot YAML."""
    from planner import api
    from planner.errors import PlanError

    from planner.cli.loading import load_plan_with_warnings

    plan = load_plan_with_warnings(file)
    result = api.solve(plan, file=file, time_limit=time_limit)
    warnings: list = []
    files, skipped = api.export(result, plan, to.value, workload=workload, model=model,
                                warnings=warnings)
    _print_warnings(warnings, file)
    for note in skipped:
        print(f"planner export: {note}", file=sys.stderr)
    if output is None:
        for artifact in files:
            if len(files) > 1:
                sys.stdout.write(f"==> {artifact.filename} <==\n")
            sys.stdout.write(artifact.text)
            for note in artifact.notes:
                print(f"planner export: {artifact.filename}: {note}", file=sys.stderr)
        return
    try:
        os.makedirs(output, exist_ok=True)
        for artifact in files:
            path = os.path.join(output, artifact.filename)
            with open(path, "w", encoding="utf-8", errors="backslashreplace", newline="\n") as handle:
                handle.write(artifact.text)
            if artifact.filename.endswith(".sh"):
                os.chmod(path, 0o755)
            print(path)
            beside = artifact.sidecar()
            if beside is not None:
                notes_path = os.path.join(output, beside[0])
                with open(notes_path, "w", encoding="utf-8", errors="backslashreplace", newline="\n") as handle:
                    handle.write(beside[1])
                print(notes_path)
            for note in artifact.notes:
                print(f"planner export: {artifact.filename}: {note}", file=sys.stderr)
    except OSError as error:
        raise PlanError(f"cannot write into {output}: {error.strerror or error}") from None


def _print_warnings(warnings: list, file: str) -> None:
    """Export's warnings as the loader prints its own: ``path:line:col: warning: ...`` with
    the source line; they never change the exit code."""
    from planner.diagnostics import SourceLines, attach_lines, print_errors

    sources: dict = {}
    for warning in warnings:
        span = warning.span
        if span is not None and span.file not in sources:
            try:
                with open(span.file, encoding="utf-8") as handle:
                    sources[span.file] = SourceLines(handle.read())
            except OSError:
                pass
        print_errors(attach_lines(warning, sources), sys.stderr)
