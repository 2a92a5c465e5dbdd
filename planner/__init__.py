"""planner: a capacity-planning language and solver for LLM GPU fleets."""

__version__ = "0.1.0"
