"""Masking strategies: random, tube (baselines), smm, mgm (MGM paper), mgmae (MGMAE paper)."""

# Importing the strategy modules registers them.
from . import mgm, mgmae, random_masking, smm, tube  # noqa: F401
from .base import MaskingStrategy
from .geometry import MaskGeometry
from .registry import (
    available_masking_strategies,
    build_masking_strategy,
    get_masking_strategy_class,
    register_masking_strategy,
)

__all__ = [
    "MaskGeometry",
    "MaskingStrategy",
    "available_masking_strategies",
    "build_masking_strategy",
    "get_masking_strategy_class",
    "register_masking_strategy",
]
