"""The hints users asked for: GPU names across spellings, `import "std"`, `100b tokens`,
weeks as a duration."""

from __future__ import annotations

import pytest

from planner.errors import PlanError, PlanErrors
from planner.resolve.load import load_plan, load_std
from planner.resolve.names import gpu_hint
from planner.syntax import parse_plan
from planner.syntax.units import spell


@pytest.fixture(scope="module")
def catalog_gpus():
    return {g.name: g for g in load_std().gpus}


@pytest.mark.parametrize("written, suggested", [
    ("H100", "; did you mean `H100-SXM`, `H100-PCIe` or `H100-NVL`?"),  # the family
    ("H100-80GB", "; did you mean `H100-SXM` or `H100-PCIe`?"),  # the NVL holds 94 GB
    ("h100 sxm", "; did you mean `H100-SXM`?"),  # case and separators
    ("A100 80GB", "; did you mean `A100-80G` or `A100-80G-PCIe`?"),  # GB for G
    ("a100-40g-pcie", "; did you mean `A100-40G-PCIe`?"),
    ("rtx4090", "; did you mean `RTX-4090`?"),
    ("H200-141GB", "; did you mean `H200`?"),
    ("mi300", "; did you mean `MI300X`?"),  # no family: the closest string
    ("Blackwell", ""),
])
def test_gpu_names_across_spellings(catalog_gpus, written, suggested):
    assert gpu_hint(written, catalog_gpus) == suggested


def _errors(tmp_path, text: str) -> list[PlanError]:
    path = tmp_path / "p.plan"
    path.write_text(text)
    with pytest.raises(PlanError) as caught:
        load_plan(str(path))
    e = caught.value
    return e.errors if isinstance(e, PlanErrors) else [e]


def test_catalog_names_without_the_catalog_say_to_import_it(tmp_path):
    errors = _errors(tmp_path, 'gpu "G" { available = 1 }\n'
                     'finetune "f" { model = "Llama-3.1-8B" dataset = 1GB gpus = ["A100-80G", "H100"] }\n'
                     'model "x" { like = "Qwen2.5-7B" }\n')
    messages = [e.message for e in errors]
    assert any("`Llama-3.1-8B` (a catalog model: add `import \"std\"` to the plan)" in m for m in messages)
    assert any("`A100-80G` (a catalog GPU: add `import \"std\"` to the plan)" in m for m in messages)
    assert any("`H100`; did you mean `H100-SXM`, `H100-PCIe` or `H100-NVL`? (catalog GPUs: add "
               "`import \"std\"` to the plan)" in m for m in messages)
    assert any("`Qwen2.5-7B` (a catalog model: add `import \"std\"`" in m for m in messages)


def test_with_the_catalog_a_misspelt_gpu_gets_its_spellings(tmp_path):
    (error,) = _errors(tmp_path, 'import "std"\ngpu "H100-SXM" { available = 1 }\n'
                       'finetune "f" { model = "Llama-3.1-8B" dataset = 1GB gpus = ["H100"] }\n')
    assert error.message == "unknown GPU `H100`; did you mean `H100-SXM`, `H100-PCIe` or `H100-NVL`?"


@pytest.mark.parametrize("value, words", [
    ("dataset = 100b tokens", "`100b tokens`: `b` is not a unit: counts use `B` for billion (10^9), "
                              "as in `100B tokens`; bytes are `100GB`"),
    ("dataset = 1.5t tokens", "counts use `T` for trillion (10^12), as in `1.5T tokens`"),
    ("dataset = 100Gb", "`Gb` is not a unit: bytes are `100GB`"),
    ("dataset = 1GB  deadline <= 2weeks", "`weeks` is not a unit: write `2w` (w = weeks)"),
    ("dataset = 1GB  deadline <= 10m", "counts use `M` for million (10^6), as in `10M`; minutes are "
                                       "`10min`, milliseconds `10ms`"),
])
def test_suffixes_that_are_not_units_are_explained(value, words):
    with pytest.raises(PlanError) as caught:
        parse_plan(f'finetune "f" {{ model = "m"  {value} }}\n', "x.plan")
    error = caught.value
    errors = error.errors if isinstance(error, PlanErrors) else [error]
    assert any(words in e.message for e in errors), [e.message for e in errors]


def test_weeks_are_a_duration():
    plan = parse_plan('finetune "f" { model = "m"  dataset = 1GB  deadline <= 2w }\n', "x.plan")
    assert plan.workloads[0].deadline == 14 * 86400
    assert spell("duration", 604800) == "1w" and spell("duration", 86400) == "1d"
    plan = parse_plan('serve "s" { model = "m"  users = 1  context = 2k  duration = 1.5w }\n', "x.plan")
    assert plan.workloads[0].duration == 1.5 * 7 * 86400
