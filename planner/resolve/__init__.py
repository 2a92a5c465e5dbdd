"""Resolve: from parsed files to one checked plan and the variants the search solves.

Imports and merging (``load``, ``merge``), models from ``like`` chains and
config.json files (``merge.resolve_models``, ``hfconfig``), the cross-block and
pin checks (``checks``), the bridge from plan blocks to the estimator's plain
data (``bridge``), and workload x sweep variants (``variants``).
"""
