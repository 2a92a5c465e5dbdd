"""What the diff tests share: finding one row of a diff, and a throwaway git repository."""

from __future__ import annotations

import os
import subprocess


def diff_row(diff, name: str, scenario: dict | None = None) -> dict:
    """The one row of ``diff`` (a ``Diff``, or its JSON) for workload ``name`` (and sweep
    ``scenario``), as JSON."""
    if hasattr(diff, "to_json"):
        diff = diff.to_json()
    matches = [r for r in diff["workloads"] if r["name"] == name and r["scenario"] == (scenario or {})]
    assert len(matches) == 1
    return matches[0]


def git(cwd, *args: str) -> None:
    """Run git in ``cwd`` with a fixed identity and no user or system configuration."""
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
                        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull})
