"""``MGMVideoMAEConfig``: a ``VideoMAEConfig`` that also records the masking strategy.

This file is self-contained apart from transformers (and mgm_hf, when installed), so that
``register_for_auto_class`` can ship it to the Hub and a checkpoint loads with
``trust_remote_code=True`` where mgm_hf is not installed.
"""

from __future__ import annotations

import logging
from typing import Any

from huggingface_hub.dataclasses import strict
from transformers import VideoMAEConfig

logger = logging.getLogger(__name__)

DEFAULT_MASKING: dict[str, Any] = {"name": "mgm", "mask_ratio": 0.9}

# Encoder/decoder sizes of the papers' models (VideoMAE appendix; MGM and MGMAE use the same) plus a
# `tiny` model that pretrains on 2 CPU cores in minutes. Every preset also takes _PRETRAINING_ENCODER:
# the official pretraining encoder ends with a LayerNorm (`encoder.norm`, no mean pooling) and uses
# LayerNorm(eps=1e-6) throughout; fine-tuning switches to mean pooling + fc_norm.
_PRETRAINING_ENCODER: dict[str, Any] = {"use_mean_pooling": False, "layer_norm_eps": 1e-6}
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(
        image_size=64, patch_size=8, num_frames=8, tubelet_size=2,
        hidden_size=96, num_hidden_layers=4, num_attention_heads=4, intermediate_size=384,
        decoder_hidden_size=64, decoder_num_hidden_layers=2, decoder_num_attention_heads=4,
        decoder_intermediate_size=256,
    ),
    "vit-s": dict(
        hidden_size=384, num_hidden_layers=12, num_attention_heads=6, intermediate_size=1536,
        decoder_hidden_size=192, decoder_num_hidden_layers=4, decoder_num_attention_heads=3,
        decoder_intermediate_size=768,
    ),
    "vit-b": dict(
        hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
        decoder_hidden_size=384, decoder_num_hidden_layers=4, decoder_num_attention_heads=6,
        decoder_intermediate_size=1536,
    ),
    "vit-l": dict(
        hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
        decoder_hidden_size=512, decoder_num_hidden_layers=4, decoder_num_attention_heads=8,
        decoder_intermediate_size=2048,
    ),
}


@strict
class MGMVideoMAEConfig(VideoMAEConfig):
    r"""VideoMAE configuration plus ``masking``, the masking strategy's config dict.

    masking (`dict`, *optional*, defaults to ``{"name": "mgm", "mask_ratio": 0.9}``):
        ``{"name": <strategy>, **options}`` as returned by ``MaskingStrategy.to_dict()``. Validated at
        construction when mgm_hf is installed: unknown strategies or options, a ratio outside (0, 1), an
        image size not divisible by the patch size or a frame count not divisible by the tubelet size
        raise ``ValueError``.

    Example:

    ```python
    >>> cfg = MGMVideoMAEConfig(image_size=224, patch_size=16, num_frames=16, tubelet_size=2,
    ...                         masking={"name": "mgmae", "mask_ratio": 0.9})
    >>> cfg = MGMVideoMAEConfig.from_preset("vit-b", masking={"name": "tube", "mask_ratio": 0.9})
    ```
    """

    model_type = "mgm_videomae"

    masking: dict | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        self.masking = dict(DEFAULT_MASKING if self.masking is None else self.masking)
        self.check_masking()

    def check_masking(self) -> None:
        """Raises ``ValueError`` with the fix when the masking config or the geometry is invalid."""
        try:
            from mgm_hf.masking import build_masking_strategy
        except ModuleNotFoundError as error:  # loaded as remote code without mgm_hf: nothing to validate against
            if error.name not in ("mgm_hf", "mgm_hf.masking"):
                raise  # mgm_hf is installed but broken: say so instead of skipping the validation
            logger.warning("mgm_hf is not installed: masking config %s is not validated.", self.masking)
            return
        build_masking_strategy(self)

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> MGMVideoMAEConfig:
        """A config of one of the :data:`PRESETS` (``tiny``, ``vit-s``, ``vit-b``, ``vit-l``)."""
        if name not in PRESETS:
            raise ValueError(f"Unknown model preset {name!r}; available: {sorted(PRESETS)}.")
        return cls(**{**_PRETRAINING_ENCODER, **PRESETS[name], **overrides})


__all__ = ["DEFAULT_MASKING", "PRESETS", "MGMVideoMAEConfig"]
