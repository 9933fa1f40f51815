"""mgm_hf: motion-guided masked video pretraining (MGM, MGMAE) for Hugging Face VideoMAE.

Importing mgm_hf imports transformers and registers the model classes with its Auto classes
(``AutoConfig``, ``AutoModelForPreTraining``, ``AutoModelForVideoClassification``), so a saved model
loads through them after a plain ``import mgm_hf``. The cost is transformers' import time in every
process that imports mgm_hf, DataLoader workers started with ``spawn`` included (workers started with
``fork`` inherit the parent's modules).
"""

from __future__ import annotations

from .masking import (
    MaskGeometry,
    MaskingStrategy,
    available_masking_strategies,
    build_masking_strategy,
    register_masking_strategy,
)
from .models import (
    MGMVideoMAE,
    MGMVideoMAEConfig,
    MGMVideoMAEForPreTrainingOutput,
    MGMVideoMAEForVideoClassification,
)

__version__ = "0.1.0"

__all__ = [
    "MGMVideoMAE",
    "MGMVideoMAEConfig",
    "MGMVideoMAEForPreTrainingOutput",
    "MGMVideoMAEForVideoClassification",
    "MaskGeometry",
    "MaskingStrategy",
    "__version__",
    "available_masking_strategies",
    "build_masking_strategy",
    "register_masking_strategy",
]
