"""The pre-commit hooks of .pre-commit-hooks.yaml, run by pre-commit itself.

``pre-commit try-repo`` installs the hooks from this repository into a fresh
virtual environment (``pip install .``), as a user's pre-commit would from a git URL.
The test runs offline: pip may use no index, builds planner without build isolation,
and finds planner's dependencies (and hatchling, its build backend) in this test
environment through PYTHONPATH. So what is tested is pre-commit's reading of the
hooks file, the build and install of this repository, each hook's entry and file
pattern, and its exit code and output on good and bad plans.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

from support.paths import EXAMPLES, ROOT

pytestmark = [
    pytest.mark.slow,  # a virtual environment and an install: about ten seconds
    pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git"),
]


def _environment(home) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "PRE_COMMIT_HOME": str(home),
        "PIP_NO_INDEX": "1",
        "PIP_NO_BUILD_ISOLATION": "0",  # pip reads this negative flag's variable inverted: 0 = no isolation
        "VIRTUALENV_NO_PERIODIC_UPDATE": "1",
        "VIRTUALENV_OVERRIDE_APP_DATA": str(home / "virtualenv"),
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
    })
    return env


def _pre_commit(*args: str, cwd, env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_hooks_pass_good_plans_and_fail_bad_ones(tmp_path):
    env = _environment(tmp_path / "cache")
    examples = sorted(str(p.relative_to(ROOT)) for p in EXAMPLES.glob("*.plan"))
    done = _pre_commit("try-repo", str(ROOT), "planner-check", "--files", *examples, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "planner check" in done.stdout and "Passed" in done.stdout

    plans = tmp_path / "plans"
    plans.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=plans, check=True)
    (plans / "good.plan").write_text((EXAMPLES / "tour.plan").read_text())
    (plans / "bad.plan").write_text('import "std"\nserve "s" {\n  model = "Llama-3.1-8B"\n  usrs = 3\n}\n')
    (plans / "ugly.plan").write_text((EXAMPLES / "tour.plan").read_text().replace("available = 16", "available=16"))
    subprocess.run(["git", "add", "."], cwd=plans, check=True)
    done = _pre_commit("try-repo", str(ROOT), "--all-files", cwd=plans, env=env)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    check = out[out.index("planner check"):out.index("planner fmt")]
    fmt = out[out.index("planner fmt"):]
    assert "Failed" in check and "bad.plan:4:3: error: unknown key `usrs`" in check
    assert "good.plan: ok" in check and "ugly.plan: ok" in check
    assert "Failed" in fmt and "ugly.plan: not canonical" in fmt
    assert "good.plan: not canonical" not in fmt
