"""Where the shipped grammar, specs and language reference are, in a wheel or in a source checkout.

A built wheel carries them under ``planner/_data`` (see pyproject.toml); an
editable install or a checkout reads them from the repository's top level.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _data_dir(name: str) -> Path:
    packaged = resources.files("planner").joinpath("_data", name)
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"planner installation is missing its {name}/ directory")


def grammar_path() -> Path:
    return _data_dir("grammar") / "plan.lark"


def specs_dir() -> Path:
    return _data_dir("specs")


def language_doc() -> Path:
    """docs/language.md: its key tables are what ``planner lsp`` shows on hover."""
    return _data_dir("docs") / "language.md"
