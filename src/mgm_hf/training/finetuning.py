"""``VideoMAEForVideoClassification`` initialised from a pretrained ``MGMVideoMAE`` encoder."""

from __future__ import annotations

import logging
from typing import Any

from transformers import VideoMAEConfig, VideoMAEForVideoClassification

from mgm_hf import MGMVideoMAE

logger = logging.getLogger(__name__)
# Pretraining-only config entries that a plain VideoMAE classifier does not need.
_PRETRAIN_ONLY = ("masking", "auto_map", "architectures", "model_type", "transformers_version")


def classifier_config(pretrained_config: Any, id2label: dict[int, str], **overrides: Any) -> VideoMAEConfig:
    """A ``VideoMAEConfig`` with the encoder of ``pretrained_config``, mean pooling + ``fc_norm`` (the
    VideoMAE fine-tuning head) and the given labels."""
    values = {k: v for k, v in pretrained_config.to_dict().items() if k not in _PRETRAIN_ONLY}
    values.update(
        use_mean_pooling=True, num_labels=len(id2label), id2label=dict(id2label),
        label2id={v: k for k, v in id2label.items()}, **overrides,
    )
    return VideoMAEConfig(**values)


def classifier_from_pretrained(name_or_path: str, id2label: dict[int, str], **overrides: Any) -> VideoMAEForVideoClassification:
    """Copies the encoder of a pretrained ``MGMVideoMAE`` into a fresh classifier.

    Exactly the encoder moves: the decoder is dropped, ``fc_norm`` and ``classifier`` start fresh, and
    the pretraining encoder's final ``layernorm`` (absent with mean pooling) is left out. Anything else
    missing or left over raises.
    """
    pretrained = MGMVideoMAE.from_pretrained(name_or_path)
    model = VideoMAEForVideoClassification(classifier_config(pretrained.config, id2label, **overrides))
    state = {k: v for k, v in pretrained.videomae.state_dict().items() if not k.startswith("layernorm.")}
    result = model.videomae.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise RuntimeError(f"Encoder transfer failed: missing {result.missing_keys}, unexpected {result.unexpected_keys}.")
    logger.info("Initialised the classifier's encoder from %s (%d tensors).", name_or_path, len(state))
    return model


__all__ = ["classifier_config", "classifier_from_pretrained"]
