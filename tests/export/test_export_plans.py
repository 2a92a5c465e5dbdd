"""planner export on solved plans (importing "std"): every row, every tool, every key checked."""

from __future__ import annotations

import glob
import json
import os
import re
import shlex

import pytest

from planner.errors import PlanError
from planner.export import _EXTENSIONS, _KINDS, artifacts, deepspeed, model_references
from planner.resolve.load import load_plan
from planner.pipeline import solve_file

from test_export import check_deepspeed, check_skypilot, check_vllm
from support.cli import run_cli as _run
from support.paths import ROOT as ROOT_PATH

ROOT = str(ROOT_PATH)

LAUNCH = """import "std"
plan "launch" { objective = cost }
gpu "A100-80G" { available = 64  price = 1.79/h }
gpu "H100-SXM" { available = 16  price = 2.99/h }
gpu "L4" { available = unlimited }
model "r1-70b" { like = "DeepSeek-R1-Distill-Llama-70B" }
model "r1-7b" { like = "DeepSeek-R1-Distill-Qwen-7B" }
serve "chat-70b" { model = "r1-70b"  users = 32  context = 8k  weights = fp8  kv = fp8  tpot <= 60ms }
serve "chat-7b" { model = "r1-7b"  users = 64  context = 4k  weights = bf16 }
finetune "tune-70b" { model = "r1-70b"  method = full  dataset = 1GB  seq_len = 4k  deadline <= 72h }
finetune "tune-7b" { model = "r1-7b"  method = lora  dataset = 100MB  deadline <= 12h }
sweep "tune-7b".dataset = [100MB, 10GB]
"""


def _plans(tmp_path_factory) -> list[str]:
    path = tmp_path_factory.mktemp("launch") / "launch.plan"
    path.write_text(LAUNCH)
    return [str(path)] + sorted(glob.glob(os.path.join(ROOT, "examples", "*.plan")))


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    out = []
    for path in _plans(tmp_path_factory):
        out.append((path, solve_file(path), model_references(load_plan(path))))
    return out


REFUSAL_REASONS = ("QLoRA with tensor parallelism", "QLoRA with expert parallelism", "pipeline parallel (",
                   "expert parallel ", "offload=", "planned for the ", "nf4 weights")


def applicable(row, tool: str) -> bool:
    """A target applies to a row that fits, of a kind it launches; a service planned for
    another engine than vLLM (examples/7b-memory.plan's transformers rows) has no vLLM launch,
    and a training row planned for another stack than DeepSpeed's or Hugging Face's (Megatron,
    FSDP) has a DeepSpeed config only where DeepSpeed runs its layout (tour.plan's Megatron
    pretrain pipelines with ZeRO-2, which DeepSpeed's pipeline engine refuses)."""
    if not row.fits or row.kind not in _KINDS[tool]:
        return False
    if tool == "deepspeed" and row.inputs.stack not in (None, "deepspeed", "hf"):
        return deepspeed.refusal(row) is None
    return row.kind != "serve" or row.inputs.engine in (None, "vllm")


@pytest.mark.slow
def test_every_example_exports_to_every_target_that_applies(solved):
    from planner.export.context import launches as plan_launches
    from planner.export.names import row_words

    seen, refused = set(), set()
    for path, result, models in solved:
        plan = load_plan(path)
        launches = plan_launches(plan)
        for tool in ("deepspeed", "vllm", "skypilot"):
            rows = [r for r in result.workloads if applicable(r, tool)]
            names = sorted({r.name for r in rows})
            files, skipped = [], []
            for name in names:
                try:
                    got, notes = artifacts(result, tool, name, models, launches)
                except PlanError as error:  # every row of the workload refused
                    notes = error.message.removeprefix(f"nothing to export --to {tool}: ").split("; ")
                    got = []
                files += got
                skipped += [n for n in notes if "refused for" in n]
            for note in skipped:
                slug, _, reason = note.partition(f": refused for {tool}: ")
                assert reason.startswith(REFUSAL_REASONS), note
                row = next(r for r in rows if re.sub(r"[^A-Za-z0-9._-]+", "-", row_words(r)).strip("-") == slug)
                refused.add((os.path.basename(path), tool, row.name, reason))
            exported = {f.filename.removesuffix(_EXTENSIONS[tool]) for f in files}
            assert len(files) + len(skipped) == len(rows), (path, tool)
            for row in rows:
                assert re.sub(r"[^A-Za-z0-9._-]+", "-", row_words(row)).strip("-") in exported | {
                    n.partition(":")[0] for n in skipped}
            for f in files:
                if tool == "deepspeed":
                    check_deepspeed(json.loads(f.text))
                elif tool == "vllm":
                    check_vllm(shlex.split(f.text.split("exec ", 1)[1].replace("\\\n", " ")))
                else:
                    spec = check_skypilot(f.text)
                    row = next(r for r in rows if f.filename == re.sub(
                        r"[^A-Za-z0-9._-]+", "-", row_words(r)).strip("-") + ".sky.yaml")
                    # SkyPilot rents what the plan is billed for: whole instances, whole nodes
                    rented = int(spec["num_nodes"]) * int(spec["resources"]["accelerators"].split(":")[1])
                    assert rented == row.billed_gpus, f.filename
                seen.add(tool)
    assert seen == {"deepspeed", "vllm", "skypilot"}
    assert refused == set()  # the search keeps to what the stacks run (planner.search.space)


def test_launch_plan_exports(solved):
    _, result, models = solved[0]
    assert models["r1-70b"] == "deepseek-ai/DeepSeek-R1-Distill-Llama-70B"
    files, _ = artifacts(result, "vllm", "chat-70b", models)
    flags = check_vllm(shlex.split(files[0].text.split("exec ", 1)[1].replace("\\\n", " ")))
    row = next(r for r in result.workloads if r.name == "chat-70b")
    assert flags["--tensor-parallel-size"] == str(row.layout.tp)
    assert (flags["--quantization"], flags["--kv-cache-dtype"], flags["--max-model-len"]) == ("fp8", "fp8", "8000")
    files, _ = artifacts(result, "deepspeed", "tune-70b", models)
    config = json.loads(files[0].text)
    train = next(r for r in result.workloads if r.name == "tune-70b")
    assert config["zero_optimization"]["stage"] == train.layout.zero
    assert config["train_micro_batch_size_per_gpu"] == train.layout.micro_batch
    # one file per sweep variant
    files, _ = artifacts(result, "skypilot", "tune-7b", models)
    assert [f.filename for f in files] == ["tune-7b-dataset-100MB.sky.yaml", "tune-7b-dataset-10GB.sky.yaml"]


def test_cli_writes_files_and_rejects_bad_names(tmp_path, monkeypatch, capsys):
    plan = os.path.join(ROOT, "examples", "tour.plan")
    code, out, err = _run("export", plan, "--to", "skypilot", "-o", str(tmp_path / "sky"))
    assert code == 0, err
    written = out.split()
    assert written and all(os.path.exists(p) for p in written)
    for p in written:
        check_skypilot(open(p, encoding="utf-8").read())
    code, out, err = _run("export", plan, "--to", "vllm", "--workload", "chatt")
    assert code == 2 and "did you mean 'chat'" in err
    code, out, err = _run("export", plan, "--to", "vllm", "--workload", "chat",
                          "--model", "./checkpoints/awq")
    assert code == 0 and "vllm serve ./checkpoints/awq " in out


@pytest.mark.slow
def test_cli_warns_refuses_and_writes_notes_beside_the_json(tmp_path):
    tour = os.path.join(ROOT, "examples", "tour.plan")
    code, out, err = _run("export", tour, "--to", "vllm")
    line = next(i for i, text in enumerate(open(tour, encoding="utf-8"), 1) if text.startswith('serve "chat"'))
    assert code == 0 and f"tour.plan:{line}:1: warning: serve 'chat' names no `checkpoint`" in err
    assert "# note: --quantization awq loads an AWQ checkpoint" in out
    code, out, err = _run("export", os.path.join(ROOT, "examples", "month-budget.plan"), "--to", "vllm")
    assert code == 0 and "warning" not in err and "vllm serve meta-llama/Llama-3.1-8B-Instruct " in out
    code, out, err = _run("export", tour, "--to", "deepspeed", "-o", str(tmp_path))
    assert code == 0
    notes = (tmp_path / "tune-dataset-100MB.deepspeed.notes.txt").read_text(encoding="utf-8")
    assert "QLoRA base weights in bitsandbytes 4-bit NF4" in notes and str(tmp_path / "tiny-base.deepspeed.json") not in out
    # a Megatron pretrain pinned to pipeline stages with ZeRO-2: Megatron runs it, DeepSpeed does not
    pinned = tmp_path / "pinned.plan"
    pinned.write_text('import "std"\ngpu "A100-80G" { available = 16 }\nmodel "m" { like = "Llama-3.1-8B" }\n'
                      'pretrain "p" { model = "m"  dataset = 1B tokens  stack = megatron\n'
                      '  layout { gpu = "A100-80G"  tp = 1  pp = 2  dp = 4  zero = 2 } }\n', encoding="utf-8")
    code, out, err = _run("export", str(pinned), "--to", "deepspeed")
    assert code == 2 and out == ""
    assert ("error: nothing to export --to deepspeed: p: refused for deepspeed: pipeline parallel (2 stages)"
            " with ZeRO stage 2") in err and "planned for the megatron stack, which runs it" in err
    code, out, err = _run("export", str(pinned), "--to", "skypilot")
    assert code == 0 and "# note: DeepSpeed cannot run this layout: pipeline parallel (2 stages)" in out
