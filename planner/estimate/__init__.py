"""The estimator: memory per GPU and run time of a layout, from architecture and precision.

Pure functions, plain data in and out (``planner.estimate.types``); every
formula and constant is listed with its source in docs/estimation.md.
"""

from planner.estimate.arch import ParamCounts, lora_param_split, lora_params, param_counts
from planner.estimate.host import host_resources
from planner.estimate.serve import evaluate_serve
from planner.estimate.train import evaluate_train, model_flops, step_traffic
from planner.estimate.memory import kv_bytes_per_token

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
