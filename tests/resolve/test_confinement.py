"""A plan reads only files inside its root, only plan and config files, only bounded regular files.

Regression tests for: `import "/proc/self/environ"` printing the environment in
a syntax error, `config = "/etc/..."` reading any file, `import "/dev/zero"`
(MemoryError), and the non-UTF-8 error without a position.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from planner.errors import PlanError, PlanErrors, PlanLimitError
from planner.resolve.files import find_root, hf_cache_dir
from planner.resolve.load import load_plan
from planner.syntax.limits import MAX_FILE_BYTES
from support.cli import run_cli
from support.paths import CONFIGS

SECRET = "CONFINEMENT_TEST_SECRET_93b1"
PLAN = 'import "std"\ngpu "A10G" { available = 1 }\n'


def errors_of(path, **kw) -> list[PlanError]:
    with pytest.raises(PlanError) as caught:
        load_plan(str(path), **kw)
    error = caught.value
    return error.errors if isinstance(error, PlanErrors) else [error]


@pytest.fixture
def repo(tmp_path):
    """tmp/repo (a git work tree) with main.plan, and tmp/outside/secret.plan beside it."""
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.plan").write_text(f"{SECRET}\n")
    (tmp_path / "outside" / "config.json").write_text((CONFIGS / "Qwen2.5-7B.json").read_text())
    return tmp_path / "repo"


def check_text(repo: Path, text: str, *args: str) -> tuple[int, str]:
    plan = repo / "main.plan"
    plan.write_text(text)
    code, out, err = run_cli("check", *args, str(plan))
    assert SECRET not in out + err and "Traceback" not in err
    return code, err


@pytest.mark.parametrize("path, words", [
    ("/proc/self/environ", "import reads a plan file (.plan) only"),
    ("/etc/passwd", "import reads a plan file (.plan) only"),
    ("/dev/zero", "import reads a plan file (.plan) only"),
    ("/etc/passwd.plan", "an absolute path"),
    ("../../x.plan", "is outside the plan's root"),
    ("../outside/secret.plan", "is outside the plan's root"),
    ("sub/../../outside/secret.plan", "is outside the plan's root"),
    ("~/.bashrc.plan", "an absolute path"),
])
def test_imports_outside_the_root_are_refused(repo, monkeypatch, path, words):
    monkeypatch.setenv("PLANNER_TEST_SECRET", SECRET)  # what /proc/self/environ would show
    code, err = check_text(repo, f'import "{path}"\n')
    assert code == 2 and words in err
    assert err.startswith(f"{repo / 'main.plan'}:1:8: error: ")


@pytest.mark.parametrize("path, words", [
    ("/proc/self/environ", "config reads a config.json file (.json), a snapshot directory"),
    ("/etc/passwd", "config reads a config.json file (.json), a snapshot directory"),
    ("/dev/zero", "config reads a config.json file (.json), a snapshot directory"),
    ("../outside/config.json", "is outside the plan's root"),
    ("/tmp/x/config.json", "an absolute path"),
])
def test_configs_outside_the_root_are_refused(repo, path, words):
    code, err = check_text(repo, PLAN + f'model "m" {{ config = "{path}" }}\n')
    assert code == 2 and words in err


def test_a_link_out_of_the_root_is_refused(repo):
    os.symlink(repo.parent / "outside" / "secret.plan", repo / "inner.plan")
    os.symlink(repo.parent / "outside" / "config.json", repo / "config.json")
    os.symlink("/proc/self/environ", repo / "env.plan")
    code, err = check_text(repo, 'import "inner.plan"\nimport "env.plan"\n')
    assert code == 2 and err.count("is a link to a file outside the plan's root") == 2
    code, err = check_text(repo, PLAN + 'model "m" { config = "config.json" }\n')
    assert code == 2 and "is a link to a file outside the plan's root" in err


def test_a_link_inside_the_root_to_another_kind_of_file_is_refused(repo):
    (repo / ".env").write_text(f"TOKEN={SECRET}\n")
    os.symlink(repo / ".env", repo / "env.plan")
    code, err = check_text(repo, 'import "env.plan"\n')
    assert code == 2 and "is a link to a file that is not a plan file" in err


def test_root_widens_the_reach_on_request(repo):
    (repo.parent / "outside" / "lib.plan").write_text('gpu "G" { per_node = 8 }\n')
    text = 'import "../outside/lib.plan"\n'
    code, err = check_text(repo, text)
    assert code == 2 and "run with `--root DIR`" in err
    code, err = check_text(repo, text, "--root", str(repo.parent))
    assert code == 0, err
    plan = load_plan(str(repo / "main.plan"), root=str(repo.parent))
    assert plan.gpus[0].per_node == 8


def test_the_root_is_the_git_top_or_the_plans_directory(tmp_path, repo):
    (repo / "team" / "a").mkdir(parents=True)
    assert find_root(str(repo / "team" / "a" / "x.plan")) == str(repo)
    (tmp_path / "plain").mkdir()
    assert find_root(str(tmp_path / "plain" / "x.plan")) == str(tmp_path / "plain")
    # inside the repository any depth of `..` that stays inside is fine
    (repo / "common.plan").write_text('gpu "G" { per_node = 4 }\n')
    (repo / "team" / "a" / "p.plan").write_text('import "../../common.plan"\n')
    assert load_plan(str(repo / "team" / "a" / "p.plan")).gpus[0].per_node == 4


def test_std_and_the_hugging_face_cache_stay_readable(repo, tmp_path, monkeypatch):
    cache = tmp_path / "hf" / "hub"
    snapshot = cache / "models--Qwen--Qwen2.5-7B" / "snapshots" / "abc"
    blobs = cache / "models--Qwen--Qwen2.5-7B" / "blobs"
    snapshot.mkdir(parents=True)
    blobs.mkdir(parents=True)
    (blobs / "f00d").write_text((CONFIGS / "Qwen2.5-7B.json").read_text())
    os.symlink("../../blobs/f00d", snapshot / "config.json")  # how huggingface_hub stores files
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    assert hf_cache_dir() == str(cache)
    code, err = check_text(repo, PLAN + f'model "q" {{ config = "{snapshot / "config.json"}" }}\n'
                           'serve "s" { model = "q" users = 1 context = 4k }\n')
    assert code == 0, err


def test_devices_fifos_and_directories_are_not_read(repo):
    os.mkfifo(repo / "fifo.plan")
    (repo / "dir.plan").mkdir()
    os.symlink("/dev/zero", repo / "zero.plan")
    code, err = check_text(repo, 'import "fifo.plan"\nimport "dir.plan"\n')
    assert code == 2 and "is not a regular file" in err and "is a directory" in err
    code, err = check_text(repo, 'import "zero.plan"\n')
    assert code == 2 and "outside the plan's root" in err


def test_a_file_past_the_size_limit_is_not_read_whole(repo):
    with open(repo / "big.plan", "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 10)  # sparse: no disk used
    (error,) = errors_of(repo / "big.plan")
    assert isinstance(error, PlanLimitError) and "larger than the limit of 8,388,608 bytes" in error.message


def test_an_error_in_a_file_that_is_not_a_plan_never_quotes_it(repo):
    # the root plan is whatever the command line names; a config.json is never quoted
    (repo / "c.json").write_text('{"model_type": "' + SECRET + '", "x": 1}')
    code, err = check_text(repo, PLAN + 'model "m" { config = "c.json" }\n')
    assert code == 2 and "'model_type' is a string, which is not supported" in err


def test_not_utf8_has_a_position(repo):
    (repo / "lib.plan").write_bytes(b'gpu "g" {\n  memory = 1GB \xff\n}\n')
    code, err = check_text(repo, 'import "lib.plan"\n')
    assert code == 2
    assert f"{repo / 'lib.plan'}:2:16: error: `{repo / 'lib.plan'}` is not UTF-8 text: byte 0xff" in err
    assert "imported at" in err
