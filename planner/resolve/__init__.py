"""Resolve: from parsed files to one checked plan and the variants the search solves.

Imports and merging (``load``, ``merge``) of the files a plan may read
(``files``: confined to its root, bounded), models from ``like`` chains and
config.json files (``merge.resolve_models``, ``hfconfig``), the cross-block
checks (``checks``), the checks of every row solve will build: pins and sweep
combinations (``pins``), the bridge from plan blocks to the estimator's plain
data (``bridge``), and workload x sweep variants (``variants``).
"""
