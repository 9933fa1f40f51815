"""Masking strategies: random, tube (baselines), smm, mgm (MGM paper), mgmae (MGMAE paper)."""

from .base import MaskingStrategy
from .geometry import MaskGeometry
from .registry import (
    available_masking_strategies,
    build_masking_strategy,
    get_masking_strategy_class,
    register_masking_strategy,
)

# Importing the strategy modules registers them.
from . import random_masking, tube, smm, mgm, mgmae  # noqa: E402, F401, I001

__all__ = sorted(
    [
        "MaskGeometry",
        "MaskingStrategy",
        "available_masking_strategies",
        "build_masking_strategy",
        "get_masking_strategy_class",
        "register_masking_strategy",
    ]
)
