"""``MGMVideoMAEConfig`` and ``MGMVideoMAE``, registered with the transformers Auto classes."""

from transformers import AutoConfig, AutoModelForPreTraining
from transformers.conversion_mapping import (
    get_checkpoint_conversion_mapping,
    register_checkpoint_conversion_mapping,
)

from .configuration_mgm_videomae import DEFAULT_MASKING, PRESETS, MGMVideoMAEConfig
from .modeling_mgm_videomae import MGMVideoMAE, MGMVideoMAEForPreTrainingOutput

AutoConfig.register(MGMVideoMAEConfig.model_type, MGMVideoMAEConfig, exist_ok=True)
AutoModelForPreTraining.register(MGMVideoMAEConfig, MGMVideoMAE, exist_ok=True)

# Checkpoints in the older VideoMAE layout (e.g. MCG-NJU/videomae-base) store the attention biases as
# `q_bias`/`v_bias`; reuse transformers' own renaming for `videomae` for our model type.
if get_checkpoint_conversion_mapping(MGMVideoMAEConfig.model_type) is None:
    register_checkpoint_conversion_mapping(
        MGMVideoMAEConfig.model_type, get_checkpoint_conversion_mapping("videomae") or []
    )

# Pushed checkpoints carry this folder's two files and load with trust_remote_code=True anywhere.
MGMVideoMAEConfig.register_for_auto_class()
MGMVideoMAE.register_for_auto_class("AutoModelForPreTraining")

__all__ = [
    "DEFAULT_MASKING",
    "PRESETS",
    "MGMVideoMAE",
    "MGMVideoMAEConfig",
    "MGMVideoMAEForPreTrainingOutput",
]
