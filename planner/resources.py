"""Where the shipped grammar, specs and language reference are, in a wheel or in a source checkout.

A built wheel carries them under ``planner/_data`` (see pyproject.toml); an
editable install or a checkout reads them from the repository's top level.
"""

from __future__ import annotations

from pathlib import Path


def _data_dir(name: str) -> Path:
    # The package's own directory, not importlib.resources: planner reads these as files
    # (a zipped package could not be), and importing importlib.resources' readers (zipfile
    # among them) cost every `planner check` more than the whole lookup.
    package = Path(__file__).resolve().parent
    packaged = package / "_data" / name
    if packaged.is_dir():
        return packaged
    checkout = package.parent / name
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
