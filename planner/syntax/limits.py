"""The documented limits on what a plan may hold (docs/language.md, "Limits").

Each bounds the time and memory one input can cost, so that a hostile or
broken file gets a clear error instead of a long wait: every stage is linear
in its input, and these cap the input. They are far above what a plan written
by people holds (the shipped catalog is under 100 KB, 46 blocks).
"""

from __future__ import annotations

# Bytes of one file the loader reads: a plan, an imported plan or a config.json.
MAX_FILE_BYTES = 8 * 2**20
# Characters on one line of a plan.
MAX_LINE_CHARS = 10_000
# Statements (blocks, imports, sweeps) in one file.
MAX_STATEMENTS = 20_000
# Tokens (names, numbers, strings, punctuation, comments) in one file: what the
# parser's time grows with; 20,000 blocks of five keys hold 400,000.
MAX_TOKENS = 500_000
# Errors one file reports: reading stops there, saying so (no one reads the 1,001st,
# and a file of errors costs no more than a file of 1,000).
MAX_ERRORS = 1_000
# Imports nested inside imports (the plan itself is depth 0).
MAX_IMPORT_DEPTH = 32
# Rows one plan solves: every workload times the product of the sweeps that match it.
# Above a 10,000-workload fleet with a sweep on every fifth workload (14,000 rows, what
# benchmarks/e2e.py solves): search shared by shape, every later step linear in the rows.
MAX_ROWS = 16_384
# Sweep statements in one plan, imports included (that fleet has 2,000).
MAX_SWEEPS = 4_096
# Nesting of arrays and objects in a config.json (Hugging Face configs nest 2-3 deep).
MAX_JSON_DEPTH = 64


def thousands(n: int) -> str:
    """``20,000``: how a limit is spelled in messages."""
    return f"{n:,}"


def too_many_errors(span):
    """The error that ends a file's list of errors at MAX_ERRORS, at the first text not read."""
    from planner.errors import PlanLimitError

    return PlanLimitError(f"stopped after {thousands(MAX_ERRORS)} errors; fix these and check again", span)
