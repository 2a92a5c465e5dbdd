"""Imports, merging, `like`, `config`, and the checks across blocks (planner.resolve.load)."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.errors import PlanError, PlanErrors, PlanImportError, PlanNameError, PlanSyntaxError
from planner.resolve.load import load_plan, load_std
from planner.resources import specs_dir
from support.paths import CONFIGS

FIXTURES = CONFIGS

GPU = 'gpu "G" { memory = 24GB bf16 = 100TFLOPS hbm = 600GB/s interconnect = 32GB/s network = 50Gbps per_node = 8 price = 1/h }\n'
OFFERED = GPU.replace("price = 1/h", "price = 1/h available = 2")
MODEL = 'model "m" { layers = 2 hidden = 64 heads = 4 ffn = 128 vocab = 1000 }\n'


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def errors_of(call) -> list[PlanError]:
    with pytest.raises(PlanError) as caught:
        call()
    error = caught.value
    return error.errors if isinstance(error, PlanErrors) else [error]


def test_relative_import_and_refinement(tmp_path):
    write(tmp_path, {
        "common/gpus.plan": GPU + MODEL,
        "team/main.plan": 'import "../common/gpus.plan"\n'
                          'gpu "G" { available = 4\n price = 2.5/h }\n'
                          'serve "s" { model = "m" users = 1 context = 1k }\n',
    })
    # outside git the root is the plan's directory: `--root` widens it to reach ../common
    plan = load_plan(str(tmp_path / "team/main.plan"), root=str(tmp_path))
    (gpu,) = plan.gpus
    assert (gpu.available, gpu.price, gpu.memory) == (4, 2.5, 24 * 10**9)
    # spans follow the written value: price from main.plan, memory from gpus.plan
    assert gpu.spans["price"].file.endswith("main.plan") and gpu.spans["price"].line == 3
    assert gpu.spans["memory"].file.endswith("gpus.plan")
    assert plan.file.endswith("main.plan") and plan.settings.name == "main"


def test_std_import_refines_the_catalog():
    std = load_std()
    a10g = next(g for g in std.gpus if g.name == "A10G")
    plan = load_plan("x/main.plan", reader={
        "x/main.plan": 'import "std"\ngpu "A10G" { available = 2 price = 0.5/h }\n'
                       'model "q" { like = "DeepSeek-R1-Distill-Qwen-7B" layers = 20 }\n'
                       'serve "s" { model = "q" users = 1 context = 1k }\n'}.__getitem__)
    gpu = next(g for g in plan.gpus if g.name == "A10G")
    assert gpu.price == 0.5 and gpu.available == 2 and gpu.memory == a10g.memory
    base = next(m for m in std.models if m.name == "DeepSeek-R1-Distill-Qwen-7B")
    q = next(m for m in plan.models if m.name == "q")
    assert q.layers == 20 and q.hidden == base.hidden and q.vocab == base.vocab and q.like == base.name
    assert q.spans["layers"].file == "x/main.plan" and q.spans["hidden"].file.endswith("models.plan")


def test_load_std_is_the_catalog():
    std = load_std()
    files = sorted(specs_dir().glob("*.plan"))
    assert files, "the catalog ships at least one file"
    assert {g.name for g in std.gpus} >= {"A10G", "L4", "A100-80G"}
    assert "DeepSeek-R1-Distill-Qwen-7B" in {m.name for m in std.models}
    assert std.workloads == []


def test_missing_import(tmp_path):
    write(tmp_path, {"main.plan": '# header\nimport "nothere.plan"\n'})
    (error,) = errors_of(lambda: load_plan(str(tmp_path / "main.plan")))
    assert isinstance(error, PlanImportError) and "no such file" in error.message
    assert (error.span.line, error.span.column) == (2, 8)


def test_cyclic_import(tmp_path):
    write(tmp_path, {"a.plan": 'import "b.plan"\n' + GPU, "b.plan": '\n\nimport "a.plan"\n'})
    (error,) = errors_of(lambda: load_plan(str(tmp_path / "a.plan")))
    assert isinstance(error, PlanImportError)
    assert "import cycle: a.plan → b.plan → a.plan" in error.message
    assert error.span.file.endswith("b.plan") and (error.span.line, error.span.column) == (3, 8)


def test_self_import(tmp_path):
    write(tmp_path, {"a.plan": 'import "./a.plan"\n'})
    (error,) = errors_of(lambda: load_plan(str(tmp_path / "a.plan")))
    assert "import cycle" in error.message


def test_diamond_imports_merge_once(tmp_path):
    write(tmp_path, {
        "base.plan": GPU + MODEL,
        "x.plan": 'import "base.plan"\n', "y.plan": 'import "base.plan"\n',
        "main.plan": 'import "x.plan"\nimport "y.plan"\ngpu "G" { available = 1 }\n'
                     'serve "s" { model = "m" users = 1 context = 1k }\n',
    })
    plan = load_plan(str(tmp_path / "main.plan"))
    assert len(plan.gpus) == 1 and len(plan.models) == 1


def test_errors_in_imported_files_point_there(tmp_path):
    write(tmp_path, {"lib.plan": 'gpu "G" {\n memory = 24 }\n', "main.plan": 'import "lib.plan"\n'})
    (error,) = errors_of(lambda: load_plan(str(tmp_path / "main.plan")))
    assert error.span.file.endswith("lib.plan") and error.span.line == 2


def test_duplicate_workload_across_files(tmp_path):
    serve = 'serve "s" { model = "m" users = 1 context = 1k }\n'
    write(tmp_path, {"lib.plan": GPU + MODEL + serve, "main.plan": 'import "lib.plan"\ngpu "G" { available = 1 }\n' + serve})
    (error,) = errors_of(lambda: load_plan(str(tmp_path / "main.plan")))
    assert isinstance(error, PlanNameError) and "defined twice" in error.message


def test_like_chain_and_cycle():
    files = {
        "m.plan": MODEL + 'model "a" { like = "b" heads = 8 }\nmodel "b" { like = "m" layers = 4 }\n',
        "c.plan": 'model "a" { like = "b" }\nmodel "b" { like = "a" }\n',
        "u.plan": 'model "a" { like = "mm" }\n' + MODEL,
    }
    plan = load_plan("m.plan", reader=files.__getitem__)
    a = next(m for m in plan.models if m.name == "a")
    assert (a.heads, a.layers, a.hidden, a.like) == (8, 4, 64, "b")
    errors = errors_of(lambda: load_plan("c.plan", reader=files.__getitem__))
    assert any("`like` chain loops: a → b → a" in e.message for e in errors)
    (error,) = errors_of(lambda: load_plan("u.plan", reader=files.__getitem__))
    assert "unknown model `mm`" in error.message and "did you mean `m`" in error.message
    assert (error.span.line, error.span.column) == (1, 20)


def test_config_json_relative_to_the_plan():
    text = (FIXTURES / "Qwen2.5-7B.json").read_text()
    files = {"plans/main.plan": 'model "q" { config = "../hf/config.json" layers = 3 }\n', "hf/config.json": text}
    plan = load_plan("plans/main.plan", reader=files.__getitem__)
    q = plan.models[0]
    assert q.layers == 3 and q.hidden == 3584 and q.heads == 28 and q.kv_heads == 4 and q.vocab == 152064


def test_missing_config(tmp_path):
    write(tmp_path, {"main.plan": 'model "q" { config = "nope.json" }\n'})
    (error,) = errors_of(lambda: load_plan(str(tmp_path / "main.plan")))
    assert isinstance(error, PlanImportError) and "no such file" in error.message
    assert (error.span.line, error.span.column) == (1, 22)


def test_semantic_checks_report_every_mistake():
    text = (
        OFFERED + MODEL
        + 'serve "s" { model = "mm" users = 1 context = 1k gpus = ["G", "H100"] }\n'
        + 'finetune "t" { model = "m" dataset = 1GB layout { gpu = "Q" } }\n'
        + 'sweep "x*".users = [1, 2]\n'
        + 'sweep "s".rank = [8]\n'
    )
    errors = errors_of(lambda: load_plan("p.plan", reader={"p.plan": text}.__getitem__))
    messages = [e.message for e in errors]
    assert any("unknown model `mm`" in m and "did you mean `m`" in m for m in messages)
    assert any("unknown GPU `H100`" in m for m in messages)
    assert any("unknown GPU `Q`" in m for m in messages)
    assert any("sweep target `x*` matches no workload" in m for m in messages)
    assert any('`rank` cannot be swept for serve "s"' in m for m in messages)
    assert len(errors) == 5


def test_sweep_glob_and_enum_per_kind():
    text = (OFFERED + MODEL +
            'serve "chat-a" { model = "m" users = 1 context = 1k }\n'
            'serve "chat-b" { model = "m" users = 1 context = 1k }\n'
            'sweep "chat-*".weights = [int4, fp32]\n')
    errors = errors_of(lambda: load_plan("p.plan", reader={"p.plan": text}.__getitem__))
    assert len(errors) == 2 and all("`fp32`" in e.message for e in errors)
    ok = text.replace("fp32", "int8")
    plan = load_plan("p.plan", reader={"p.plan": ok}.__getitem__)
    assert plan.sweeps[0].updates == [{"weights": "int4"}, {"weights": "int8"}]


def test_a_plan_with_workloads_needs_an_offered_gpu():
    text = GPU + MODEL + 'serve "s" { model = "m" users = 1 context = 1k }\n'
    (error,) = errors_of(lambda: load_plan("p.plan", reader={"p.plan": text}.__getitem__))
    assert "no GPU is offered" in error.message and "available = 8" in error.message
    assert (error.span.line, error.span.column) == (3, 7)


def test_offered_gpu_and_used_model_must_be_complete():
    text = ('gpu "N" { available = 1 price = 1/h }\nmodel "x" { layers = 2 }\n'
            'serve "s" { model = "x" users = 1 context = 1k }\n')
    errors = errors_of(lambda: load_plan("p.plan", reader={"p.plan": text}.__getitem__))
    assert any("has no memory, bf16, hbm" in e.message for e in errors)
    assert any('model "x" is used but has no hidden, heads, ffn, vocab' in e.message for e in errors)


@pytest.mark.parametrize("setup, words", [
    (lambda p: None, "no such file"),
    (lambda p: p.mkdir(), "is a directory"),
    (lambda p: p.write_bytes(b'gpu "\xff" {}'), "not UTF-8"),
    (lambda p: p.write_text(""), "is empty"),
    (lambda p: p.write_text("# only a comment\n"), "only comments"),
])
def test_unreadable_root_files(tmp_path, setup, words):
    path = tmp_path / "x.plan"
    setup(path)
    (error,) = errors_of(lambda: load_plan(str(path)))
    assert words in error.message and isinstance(error, (PlanImportError, PlanSyntaxError))


def test_a_broken_model_is_reported_once_not_at_every_use():
    # The `like` typo is the mistake; the serve block naming "m" is not a second
    # one, while a real typo in a workload's model still is, with a suggestion.
    source = ('import "std"\ngpu "A10G" { available = 1 }\n'
              'model "m" { like = "DeepSeek-R1-Distil-Qwen-7B" }\n'
              'serve "s" { model = "m" users = 1 context = 4k }\n'
              'serve "t" { model = "mm" users = 1 context = 4k }\n')
    errors = errors_of(lambda: load_plan("x/main.plan", reader=lambda path: source))
    messages = [e.message for e in errors]
    assert len(errors) == 2, messages
    assert "did you mean `DeepSeek-R1-Distill-Qwen-7B`" in messages[0]
    assert errors[0].span.line == 3 and errors[0].span.column == 20
    assert messages[1] == 'serve "t" uses unknown model `mm`; did you mean `m`?'
    assert errors[1].span.line == 5
