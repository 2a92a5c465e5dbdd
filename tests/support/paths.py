"""Where the repository's files are, for tests in any folder."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
DATA = TESTS / "data"  # published figures copied from the validation set (see data/README.md)
FIXTURES = TESTS / "fixtures"
CONFIGS = FIXTURES / "configs"
GOLDEN = TESTS / "golden"
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
