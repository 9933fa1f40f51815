"""mgm_hf: motion-guided masked video pretraining (MGM, MGMAE) for Hugging Face VideoMAE.

The model classes are imported lazily (PEP 562) so that DataLoader workers that only decode video
and make masks never import transformers.
"""

from __future__ import annotations

import importlib
from typing import Any

from .masking import (
    MaskGeometry,
    MaskingStrategy,
    available_masking_strategies,
    build_masking_strategy,
    register_masking_strategy,
)

__version__ = "0.1.0"

_LAZY = {
    "MGMVideoMAE": "mgm_hf.models",
    "MGMVideoMAEConfig": "mgm_hf.models",
    "MGMVideoMAEForPreTrainingOutput": "mgm_hf.models",
}

__all__ = [
    "MGMVideoMAE",
    "MGMVideoMAEConfig",
    "MGMVideoMAEForPreTrainingOutput",
    "MaskGeometry",
    "MaskingStrategy",
    "__version__",
    "available_masking_strategies",
    "build_masking_strategy",
    "register_masking_strategy",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mgm_hf' has no attribute {name!r}")
