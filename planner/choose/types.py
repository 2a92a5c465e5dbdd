"""Plain data in and out of the choice: what CP-SAT is asked, and what it answers.

No sentences here: a binding limit or a conflict is data (which limit, how much is used
or wanted, by whom); ``planner.explain`` writes the English. Amounts are in natural
units: GPUs for availability, currency for the budget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from planner.frozen import frozen

AVAILABILITY = "availability"
BUDGET = "budget"
OBJECTIVES = ("cost", "gpus", "hours")  # what the choice can minimise first


@frozen
class Option:
    """One evaluated candidate layout of one item."""

    gpu: str  # GPU type
    gpus: int  # GPUs it uses
    cost: float  # currency (training: gpus x hours x price; serving: per priced duration)
    hours: float
    key: tuple  # stable sort key (deterministic tie-break); keys of one item must compare


@frozen
class Item:
    """One workload, or one sweep variant of it."""

    name: str  # unique, e.g. "tune-7b[dataset=1GB]"
    group: str  # variants of one swept workload share a group; others: group == name
    options: tuple[Option, ...]  # may be empty: nothing fits, the solve is infeasible for it


@frozen
class Runs:
    """When one group may hold its GPUs in a scheduled pool, in hours from the window's start.

    One (release, due) pair per run: the run starts at or after its release and ends by its
    due, holding the GPUs of its option for the option's ``hours``. No pairs: the group holds
    its GPUs for the whole window (a service).
    """

    slots: tuple[tuple[float, float], ...] = ()


@frozen
class Window:
    """A pool scheduled in time over [0, hours): availability holds at every moment.

    ``runs`` is per item. The items of one group (sweep variants) run as one: they must
    list the same releases (their dues may differ: each variant's own run meets its own);
    a group none of whose items is listed holds its GPUs throughout."""

    hours: float
    runs: dict[str, Runs]  # per item


@frozen
class Problem:
    """What the chooser is given: the items and their options, and the shared limits."""

    items: tuple[Item, ...]
    available: dict[str, int | None]  # per GPU type; None = unlimited
    budget: float | None  # cap on total cost
    objective: str  # "cost" | "gpus" | "hours"
    window: Window | None = None  # None: every group holds its GPUs at once (no time)


@dataclass(frozen=True, order=True)
class LimitId:
    """A shared limit: the availability of one GPU type, or the plan budget."""

    kind: str  # AVAILABILITY | BUDGET
    gpu: str = ""  # the GPU type of an availability limit

    @classmethod
    def availability(cls, gpu: str) -> "LimitId":
        return cls(AVAILABILITY, gpu)

    @classmethod
    def budget(cls) -> "LimitId":
        return cls(BUDGET)

    def __str__(self) -> str:
        return f"{self.kind} {self.gpu}" if self.kind == AVAILABILITY else self.kind


@frozen
class LimitUse:
    """A limit that binds in the chosen solution: at zero slack, or it kept some workload
    from its own first choice."""

    limit: LimitId
    used: float
    available: float
    users: tuple[tuple[str, float], ...]  # (group, amount it uses), heaviest first, then by name
    first_choices_need: float | None = None  # the groups' own first choices together, when over
    at_hours: float | None = None  # scheduled pool: the first moment the peak use is reached


@frozen
class Conflict:
    """One limit of a minimal set of limits that cannot hold together."""

    limit: LimitId
    available: float
    wanted_by: tuple[tuple[str, float], ...]  # every group that can use it, and the least it takes
    needs_at_least: float | None = None  # proven least use with this limit relaxed, when above

    def wanted_by_group(self, group: str) -> bool:
        return any(name == group for name, _ in self.wanted_by)


@frozen
class Choice:
    """The chooser's answer: an option per item, the limits that bind or conflict."""

    status: str  # "optimal" | "feasible" | "infeasible"
    picks: dict[str, int]  # item name -> index into its options
    objective_value: float  # sum of the objective over picked options
    gap: float  # relative gap of the objective stage (0.0 when proven)
    binding: tuple[LimitUse, ...] = ()
    conflicts: tuple[Conflict, ...] = ()  # a minimal core, when the limits cannot all hold
    unplaced: tuple[str, ...] = ()  # items without any option
    # What each item would pick if no shared limit applied (index into its options):
    # where it differs from `picks`, availability or budget decided that item.
    first_choices: dict[str, int] = field(default_factory=dict)
    core_undecided: bool = False  # the core may not be minimal (a check ran out of time or was not run)
    timed_out: float | None = None  # seconds of a time limit that found no feasible choice
    # Scheduled pool: per group, the start of each run in hours from the window's start
    # (as early as the pool allows); empty without a window.
    starts: dict[str, tuple[float, ...]] = field(default_factory=dict)


@frozen
class SolveOptions:
    """Debug affordances of the OR-Tools samples: CP-SAT's search log, and the model. Either
    one makes the choice go through CP-SAT even where it is decided without it."""

    log: Callable[[str], None] | None = None  # each line of CP-SAT's search log
    dump_model: str | None = None  # write the first solve's model here (.pb binary, else text)
