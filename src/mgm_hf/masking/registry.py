"""Registry of masking strategies: names to classes, with duplicate names rejected."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .base import MaskingStrategy
from .geometry import MaskGeometry

_REGISTRY: dict[str, type[MaskingStrategy]] = {}
StrategyClass = TypeVar("StrategyClass", bound=type[MaskingStrategy])


def register_masking_strategy(name: str) -> Callable[[StrategyClass], StrategyClass]:
    """Class decorator: ``@register_masking_strategy("mine")`` makes ``{"name": "mine"}`` buildable."""

    def decorator(cls: StrategyClass) -> StrategyClass:
        if not (isinstance(cls, type) and issubclass(cls, MaskingStrategy)):
            raise TypeError(f"{cls!r} is not a MaskingStrategy subclass.")
        if name in _REGISTRY:
            raise ValueError(f"A masking strategy named {name!r} is already registered ({_REGISTRY[name]}).")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorator


def available_masking_strategies() -> list[str]:
    """Sorted names of every registered strategy."""
    return sorted(_REGISTRY)


def get_masking_strategy_class(name: str) -> type[MaskingStrategy]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"Unknown masking strategy {name!r}; available: {available_masking_strategies()}."
        ) from None


def build_masking_strategy(
    config: Any,
    *,
    num_frames: int | None = None,
    image_size: int | tuple[int, int] | None = None,
    patch_size: int | None = None,
    tubelet_size: int | None = None,
) -> MaskingStrategy:
    """Builds a strategy from a model config (its ``masking`` dict and geometry) or a plain dict.

    ``build_masking_strategy(cfg)`` with an ``MGMVideoMAEConfig``, or
    ``build_masking_strategy({"name": "tube", "mask_ratio": 0.9}, num_frames=16, image_size=224,
    patch_size=16, tubelet_size=2)``. Keyword sizes override the config's.
    """
    if isinstance(config, Mapping):
        masking = dict(config)
        sizes = {}
    elif hasattr(config, "masking"):
        masking = dict(config.masking)
        sizes = {k: getattr(config, k) for k in ("num_frames", "image_size", "patch_size", "tubelet_size")}
    else:
        raise TypeError(f"Expected a dict or a config with a `masking` dict, got {type(config).__name__}.")
    overrides = {"num_frames": num_frames, "image_size": image_size, "patch_size": patch_size,
                 "tubelet_size": tubelet_size}
    sizes.update({k: v for k, v in overrides.items() if v is not None})
    missing = sorted({"num_frames", "image_size", "patch_size", "tubelet_size"} - set(sizes))
    if missing:
        raise ValueError(f"build_masking_strategy needs the input geometry; missing {missing}.")
    if "name" not in masking:
        raise ValueError(f"The masking config needs a 'name'; available: {available_masking_strategies()}.")
    cls = get_masking_strategy_class(masking["name"])
    return cls.from_dict(masking, MaskGeometry(**sizes))
