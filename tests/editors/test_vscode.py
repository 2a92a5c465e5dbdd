"""The VS Code extension in editors/vscode: its manifest names files that exist, the
grammar it contributes, and the command that starts `planner lsp`."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from support.paths import ROOT

VSCODE = ROOT / "editors" / "vscode"


def test_manifest_contributes_the_language_and_grammar():
    manifest = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    (language,) = manifest["contributes"]["languages"]
    (grammar,) = manifest["contributes"]["grammars"]
    assert language["id"] == grammar["language"] == "plan" and language["extensions"] == [".plan"]
    assert (VSCODE / language["configuration"]).is_file()
    contributed = json.loads((VSCODE / grammar["path"]).read_text(encoding="utf-8"))
    assert contributed["scopeName"] == grammar["scopeName"] == "source.plan"
    assert (VSCODE / manifest["main"]).is_file()
    settings = manifest["contributes"]["configuration"]["properties"]
    assert settings["planner.command"]["default"] == ["planner", "lsp"]
    assert "vscode-languageclient" in manifest["dependencies"]
    config = json.loads((VSCODE / "language-configuration.json").read_text(encoding="utf-8"))
    assert config["comments"]["lineComment"] == "#"


def test_extension_starts_planner_lsp_with_the_settings():
    source = (VSCODE / "extension.js").read_text(encoding="utf-8")
    assert 'config.get("command", ["planner", "lsp"])' in source
    for setting in ("solve", "root"):
        assert f'config.get("{setting}"' in source


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_extension_is_valid_javascript():
    done = subprocess.run(["node", "--check", str(VSCODE / "extension.js")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
