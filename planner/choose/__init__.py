"""Choose one evaluated option per workload variant under shared limits (CP-SAT)."""
