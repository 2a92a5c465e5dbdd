"""The CI recipes of examples/ci, run: their own commands, read from the workflow files, in a
temporary git repository holding two revisions of an example plan.

GitHub Actions: the diff step writes the comment and the status, the posting step (with a
stand-in `gh` that keeps the pull request's comments in a file) posts it on the first push
and updates the same comment on the next, and the gate fails above the threshold. GitLab CI:
the job's script against a stand-in for GitLab's notes API on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from planner import api
from planner.render import diffview
from support.paths import EXAMPLES, ROOT

pytestmark = [
    pytest.mark.slow,  # planner diff solves both revisions of the plan, per run (seconds)
    pytest.mark.skipif(shutil.which("git") is None or shutil.which("bash") is None,
                       reason="the recipes run git in bash"),
]

CI = ROOT / "examples" / "ci"
MARKER = "<!-- planner-cost-comment -->"
GIT = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}

FAKE_GH = '''
import json, os, sys
state_path = os.environ["FAKE_GH_STATE"]
state = json.load(open(state_path)) if os.path.exists(state_path) else {"comments": [], "calls": []}
args = sys.argv[1:]
state["calls"].append(args)
assert args[0] == "api", args
method = args[args.index("--method") + 1] if "--method" in args else "GET"
path = [a for a in args[1:] if a.startswith("repos/")][0]
if method == "GET":
    jq = args[args.index("--jq") + 1]
    assert jq == '.[] | select(.body | startswith("%s")) | .id', jq
    for comment in state["comments"]:
        if comment["body"].startswith("%s"):
            print(comment["id"])
else:
    body = open(args[args.index("-F") + 1].split("=@", 1)[1], encoding="utf-8").read()
    if method == "POST":
        state["comments"].append({"id": 1000 + len(state["comments"]), "body": body})
    else:
        wanted = int(path.rsplit("/", 1)[1])
        (comment,) = [c for c in state["comments"] if c["id"] == wanted]
        comment["body"] = body
json.dump(state, open(state_path, "w"))
''' % (MARKER, MARKER)


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT})


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    # as GitHub Actions runs a step: bash --noprofile --norc -eo pipefail
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def repository(tmp_path):
    """A clone whose origin/main holds examples/chat-service.plan, on a branch that changes it."""
    upstream = tmp_path / "upstream"
    (upstream / "plans").mkdir(parents=True)
    shutil.copy(EXAMPLES / "chat-service.plan", upstream / "plans" / "fleet.plan")
    _git("init", "-q", "-b", "main", cwd=upstream)
    _git("add", ".", cwd=upstream)
    _git("commit", "-qm", "the fleet", cwd=upstream)
    work = tmp_path / "work"
    _git("clone", "-q", str(upstream), str(work), cwd=tmp_path)
    _git("checkout", "-qb", "more-autocomplete", cwd=work)
    return work


def _push(work: Path, old: str, new: str) -> str:
    plan = work / "plans" / "fleet.plan"
    text = plan.read_text().replace(old, new)
    assert text != plan.read_text()
    plan.write_text(text)
    _git("commit", "-qam", f"{old} -> {new}", cwd=work)
    return text


def _expected_markdown(tmp_path: Path, new_text: str) -> str:
    """planner diff's comment for the example and ``new_text``, computed here through the API."""
    old_path, new_path = tmp_path / "old.plan", tmp_path / "new.plan"
    old_path.write_text((EXAMPLES / "chat-service.plan").read_text())
    new_path.write_text(new_text)
    old = api.solve(api.load(str(old_path)))
    new = api.solve(api.load(str(new_path)))
    return diffview.render_markdown(api.diff(old, new))


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    gh = bin_dir / "gh"
    gh.write_text(f"#!{sys.executable}\n{FAKE_GH}")
    gh.chmod(0o755)
    path = os.pathsep.join([str(bin_dir), os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    return {**os.environ, **GIT, "PATH": path, **extra}


def _body_without_footer(markdown: str) -> str:
    return markdown[:markdown.rindex("<sub>")]


def test_github_actions_workflow(repository, tmp_path):
    workflow = yaml.safe_load((CI / "github-actions.yml").read_text())
    steps = {step.get("name"): step for step in workflow["jobs"]["cost"]["steps"]}
    diff_step, post_step, gate = steps["Cost of the change"], steps["Post or update the comment"], steps["Policy gate"]
    assert diff_step["env"]["BASE"] == "origin/${{ github.base_ref }}"
    state = tmp_path / "gh.json"
    env = _environment(tmp_path, **workflow["env"], BASE="origin/main", GITHUB_REPOSITORY="team/plans", PR="7",
                       GH_TOKEN="unused", FAKE_GH_STATE=str(state))

    def run_diff_and_post() -> tuple[str, str]:
        output = tmp_path / "github_output"
        output.write_text("")
        done = _bash(diff_step["run"], repository, {**env, "GITHUB_OUTPUT": str(output)})
        assert done.returncode == 0, done.stderr
        posted = _bash(post_step["run"], repository, env)
        assert posted.returncode == 0, posted.stderr
        return (repository / "comment.md").read_text(), output.read_text()

    # first push: 4x the autocomplete requests, a rise above the 10% of FAIL_ABOVE
    first_text = _push(repository, "  rate = 20/s", "  rate = 80/s")
    comment, output = run_diff_and_post()
    assert output == "status=1\n"
    assert comment.startswith(MARKER + "\n")
    assert "> **Policy:** planner diff: total cost rises by" in comment and "more than --fail-above 10%" in comment
    assert _body_without_footer(_expected_markdown(tmp_path, first_text)) in comment
    assert "`origin/main:plans/fleet.plan` → `plans/fleet.plan`" in comment
    comments = json.loads(state.read_text())["comments"]
    assert [c["body"] for c in comments] == [comment]

    gated = _bash(gate["run"], repository, {**env, "STATUS": "1"})
    assert gated.returncode == 1 and "rises by more than 10%" in gated.stdout

    # second push: fewer requests again, and a new plan; the same comment is updated in place
    second_text = _push(repository, "  rate = 80/s", "  rate = 40/s")
    (repository / "plans" / "extra.plan").write_text((EXAMPLES / "shared-pool.plan").read_text())
    _git("add", ".", cwd=repository)
    _git("commit", "-qm", "a new plan", cwd=repository)
    comment, output = run_diff_and_post()
    assert _body_without_footer(_expected_markdown(tmp_path, second_text)) in comment
    assert "**`plans/extra.plan`** is new" in comment
    calls = json.loads(state.read_text())["calls"]
    assert [c[c.index("--method") + 1] if "--method" in c else "GET" for c in calls] == ["GET", "POST", "GET", "PATCH"]
    (only,) = json.loads(state.read_text())["comments"]
    assert only["body"] == comment and only["id"] == 1000


class _Notes(BaseHTTPRequestHandler):
    """GitLab's merge request notes API, as much of it as the recipe uses."""

    notes: list[dict] = []
    calls: list[tuple[str, str]] = []

    def _answer(self, data) -> None:
        body = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict:
        assert self.headers["PRIVATE-TOKEN"] == "secret"
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def do_GET(self):  # noqa: N802 (the handler's protocol)
        self.calls.append(("GET", self.path))
        page = int(self.path.split("page=")[-1])
        self._answer(self.notes[(page - 1) * 100:page * 100])

    def do_POST(self):  # noqa: N802
        self.calls.append(("POST", self.path))
        self.notes.append({"id": 500 + len(self.notes), "body": self._body()["body"]})
        self._answer(self.notes[-1])

    def do_PUT(self):  # noqa: N802
        self.calls.append(("PUT", self.path))
        wanted = int(self.path.rsplit("/", 1)[1])
        (note,) = [n for n in self.notes if n["id"] == wanted]
        note["body"] = self._body()["body"]
        self._answer(note)

    def log_message(self, *args) -> None:
        pass


def test_gitlab_ci_job(repository, tmp_path):
    job = yaml.safe_load((CI / "gitlab-ci.yml").read_text())["planner-cost"]
    _Notes.notes = [{"id": 1, "body": "an unrelated note"}]
    _Notes.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Notes)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = _environment(tmp_path, **job["variables"], CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main",
                           CI_API_V4_URL=f"http://127.0.0.1:{server.server_port}/api/v4", CI_PROJECT_ID="42",
                           CI_MERGE_REQUEST_IID="3", PLANNER_GITLAB_TOKEN="secret")
        script = "\n".join(job["script"])
        first_text = _push(repository, "  rate = 20/s", "  rate = 80/s")
        done = _bash(script, repository, env)
        assert done.returncode == 1, done.stderr  # the gate: above 10%
        assert "rises by more than 10%" in done.stdout and "posted a note" in done.stdout
        (_, posted) = _Notes.notes
        assert posted["body"].startswith(MARKER) and posted["body"] == (repository / "comment.md").read_text()
        assert _body_without_footer(_expected_markdown(tmp_path, first_text)) in posted["body"]

        _push(repository, "  rate = 80/s", "  rate = 30/s")
        done = _bash(script, repository, env)
        assert f"updated note {posted['id']}" in done.stdout
        assert [n["id"] for n in _Notes.notes] == [1, posted["id"]]
        assert posted["body"] == (repository / "comment.md").read_text()
        assert [method for method, _ in _Notes.calls] == ["GET", "GET", "POST", "GET", "PUT"]
        assert all("/projects/42/merge_requests/3/notes" in path for _, path in _Notes.calls)
    finally:
        server.shutdown()
