"""``MGMVideoMAEConfig``, ``MGMVideoMAE`` and ``MGMVideoMAEForVideoClassification``, registered with the
transformers Auto classes (``AutoConfig``, ``AutoModelForPreTraining``, ``AutoModelForVideoClassification``)."""

from transformers import AutoConfig, AutoModelForPreTraining, AutoModelForVideoClassification

from .configuration_mgm_videomae import DEFAULT_MASKING, PRESETS, MGMVideoMAEConfig
from .modeling_mgm_videomae import (
    MGMVideoMAE,
    MGMVideoMAEForPreTrainingOutput,
    MGMVideoMAEForVideoClassification,
    classifier_config,
)

AutoConfig.register(MGMVideoMAEConfig.model_type, MGMVideoMAEConfig, exist_ok=True)
AutoModelForPreTraining.register(MGMVideoMAEConfig, MGMVideoMAE, exist_ok=True)
AutoModelForVideoClassification.register(MGMVideoMAEConfig, MGMVideoMAEForVideoClassification, exist_ok=True)

# Saved checkpoints carry this folder's two files (and an auto_map naming both model classes: see
# MGMVideoMAE.save_pretrained), so they load with trust_remote_code=True where mgm_hf is not installed.
MGMVideoMAEConfig.register_for_auto_class()
MGMVideoMAE.register_for_auto_class("AutoModelForPreTraining")

__all__ = [
    "DEFAULT_MASKING",
    "PRESETS",
    "MGMVideoMAE",
    "MGMVideoMAEConfig",
    "MGMVideoMAEForPreTrainingOutput",
    "MGMVideoMAEForVideoClassification",
    "classifier_config",
]
