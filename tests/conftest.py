"""What every test folder shares.

Helpers live in the ``support`` package beside this file (``support.cli.run_cli``,
``support.arch`` fixtures, ``support.results`` hand-built results, ``support.paths``);
the exhaustive reference solver in ``oracles``. pytest puts this folder on ``sys.path``
because it holds this conftest.

Hypothesis keeps no example database in the working tree (a test run leaves no
``.hypothesis/`` behind) and prints its seed on failure; ``-m "not slow"`` leaves out
the fuzz, property and example tests for a quick local loop.
"""

from __future__ import annotations

import os
import tempfile

from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

# Hypothesis caches constants it mined from the code under test; keep them out of the tree.
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "planner-hypothesis"))
# derandomize: the same examples every run, so CI is reproducible; the long randomized
# campaigns live in benchmarks/ (fuzz.py), not in the suite.
settings.register_profile("planner", database=None, print_blob=True, derandomize=True)
settings.load_profile("planner")
# The on-disk cache (planner/cache.py) of this run goes to a fresh directory, not the user's:
# tests start cold and leave nothing behind in ~/.cache (subprocesses inherit it).
os.environ["PLANNER_CACHE_DIR"] = tempfile.mkdtemp(prefix="planner-cache-")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "slow: fuzz, property and whole-example tests (seconds each)")
    config.addinivalue_line("markers", "validate: exports loaded by the real tools' own parsers "
                                       "(pip install '.[validate]'; skipped without them)")
