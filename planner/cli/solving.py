"""The body of ``planner solve``, shared by the typer command (``planner.cli.solve``) and
the fast path (``planner.cli.fast``). No typer here."""

import shutil
import sys
from typing import NoReturn

# Exit status when the independent checker rejects a solution: a bug in
# planner, distinct from 1 (infeasible plan) and 2 (bad input).
EXIT_INTERNAL = 3


def _usage(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def solve_file(file: str, fmt: str = "table", objective: str | None = None,
               time_limit: float = 10.0, explain: bool = False, solver_log: bool = False,
               dump_model: str | None = None) -> NoReturn:
    """Solve ``file`` and write the answer in ``fmt`` on stdout; exits with the result's
    code (0 placed, 1 infeasible, 2 bad input, 3 a solution the checker rejected)."""
    from planner import api
    from planner.choose.types import OBJECTIVES
    from planner.pipeline import SolveInternalError
    from planner.render import FORMATS

    if fmt not in FORMATS:
        _usage(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if objective is not None and objective not in OBJECTIVES:
        _usage(f"--objective {objective!r}: expected one of {', '.join(OBJECTIVES)}")
    if not time_limit > 0:
        _usage(f"--time-limit {time_limit}: must be more than 0 seconds")
    log = (lambda line: print(line, file=sys.stderr)) if solver_log else None
    from planner.cli.loading import load_plan_with_warnings

    plan = load_plan_with_warnings(file)
    try:
        result = api.solve(plan, file=file, objective=objective, time_limit=time_limit,
                           explain=explain, solver_log=log, dump_model=dump_model)
    except SolveInternalError as error:
        print("internal error: the checker rejected the solution (a planner bug, please "
              "report it):", file=sys.stderr)
        for violation in error.violations:
            print(f"  {violation}", file=sys.stderr)
        sys.exit(EXIT_INTERNAL)
    width = max(100, shutil.get_terminal_size((160, 40)).columns)
    sys.stdout.write(api.render(result, fmt, explain=explain, width=width))
    sys.exit(result.exit_code)
