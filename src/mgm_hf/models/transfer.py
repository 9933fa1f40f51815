"""From a pretraining checkpoint to the papers' fine-tuning classifier (the pretrained→classifier transfer).

Not part of the remote code that checkpoints ship with (``configuration_mgm_videomae.py`` and
``modeling_mgm_videomae.py`` import nothing from here).
"""

from __future__ import annotations

from typing import Any

from transformers import VideoMAEForVideoClassification

from .modeling_mgm_videomae import MGMVideoMAEForVideoClassification


def classifier_from_pretrained(name_or_path: str, id2label: dict[int, str], **overrides: Any) -> VideoMAEForVideoClassification:
    """``VideoMAEForVideoClassification`` (mean pooling + ``fc_norm``) with the encoder of the pretraining
    checkpoint ``name_or_path`` and the given labels; ``overrides`` set config entries (e.g. ``image_size``).

    The same code path as ``AutoModelForVideoClassification.from_pretrained(name_or_path, id2label=...)``
    (:class:`MGMVideoMAEForVideoClassification`); this function also accepts plain VideoMAE pretraining
    checkpoints (``model_type="videomae"``), which the Auto class would map to transformers' classifier.
    """
    return MGMVideoMAEForVideoClassification.from_pretrained(name_or_path, id2label=dict(id2label), **overrides)


__all__ = ["classifier_from_pretrained"]
