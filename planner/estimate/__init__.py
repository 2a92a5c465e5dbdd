"""The estimator: memory per GPU and run time of a layout, from architecture and precision.

Pure functions, plain data in and out (``planner.estimate.types``); every
formula and constant is listed with its source in docs/estimation.md.

The names below are imported from their submodule on first use (PEP 562), so that a
caller needing one submodule (``planner check`` reads ``engines``, ``arch`` and
``defaults``) does not import the whole estimator.
"""

from planner.lazy import lazy_names

_SUBMODULE = {
    "ParamCounts": "arch",
    "lora_param_split": "arch",
    "lora_params": "arch",
    "param_counts": "arch",
    "host_resources": "host",
    "evaluate_serve": "serve",
    "evaluate_train": "train",
    "model_flops": "train",
    "step_traffic": "train",
    "kv_bytes_per_token": "memory",
}

__all__ = [
    "ParamCounts",
    "evaluate_serve",
    "evaluate_train",
    "host_resources",
    "kv_bytes_per_token",
    "lora_param_split",
    "lora_params",
    "model_flops",
    "param_counts",
    "step_traffic",
]


__getattr__ = lazy_names(__name__, _SUBMODULE, globals())
