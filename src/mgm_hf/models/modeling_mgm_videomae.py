"""``MGMVideoMAE``: ``VideoMAEForPreTraining`` that makes its own motion-guided masks.

Self-contained apart from transformers and (optionally) mgm_hf, for ``register_for_auto_class``:
without mgm_hf installed the model loads and runs with an explicit ``bool_masked_pos``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from transformers import VideoMAEForPreTraining
from transformers.models.videomae.modeling_videomae import VideoMAEForPreTrainingOutput

from .configuration_mgm_videomae import MGMVideoMAEConfig

try:  # absent when loaded as remote code where mgm_hf is not installed
    from mgm_hf.masking import MaskingStrategy, build_masking_strategy
except ImportError:
    MaskingStrategy = None
    build_masking_strategy = None


@dataclass
class MGMVideoMAEForPreTrainingOutput(VideoMAEForPreTrainingOutput):
    r"""
    loss (`torch.Tensor` of shape `()`): reconstruction loss on the masked tokens.
    logits (`torch.Tensor` of shape `(batch_size, num_masked, tubelet_size * patch_size**2 * 3)`): reconstructions.
    bool_masked_pos (`torch.BoolTensor` of shape `(batch_size, sequence_length)`): the mask used, True = masked.
    """

    bool_masked_pos: torch.BoolTensor | None = None


class MGMVideoMAE(VideoMAEForPreTraining):
    """VideoMAE pretraining with pluggable masking (random, tube, SMM, MGM, MGMAE).

    ``forward(pixel_values, bool_masked_pos=None, motion=None, generator=None)`` uses the given mask or
    makes one with ``config.masking``; the output carries the mask it used. The weights are exactly
    ``VideoMAEForPreTraining``'s, so VideoMAE checkpoints load into it and back.
    """

    config_class = MGMVideoMAEConfig
    config: MGMVideoMAEConfig

    def __init__(self, config: MGMVideoMAEConfig) -> None:
        super().__init__(config)
        self.masking_strategy = build_masking_strategy(config) if build_masking_strategy is not None else None

    def set_masking_strategy(self, masking: dict[str, Any] | Any) -> None:
        """Swaps the strategy (a config dict or a ``MaskingStrategy``) and records it in the config."""
        if build_masking_strategy is None:
            raise ImportError("Install mgm_hf to change the masking strategy: pip install mgm_hf")
        masking = masking.to_dict() if isinstance(masking, MaskingStrategy) else dict(masking)
        strategy = build_masking_strategy(masking, **_geometry_of(self.config))
        self.config.masking = strategy.to_dict()
        self.masking_strategy = strategy

    def make_mask(
        self,
        pixel_values: torch.Tensor,
        motion: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.BoolTensor:
        """(B, T, C, H, W) pixels [+ (B, T, h, w, 2) motion] -> BoolTensor (B, L), True = masked."""
        if self.masking_strategy is None:
            raise ImportError(
                "This model was loaded without mgm_hf, so it cannot make masks: pass bool_masked_pos, "
                "or pip install mgm_hf."
            )
        return self.masking_strategy(
            pixel_values.shape[0], motion=motion, generator=generator, pixel_values=pixel_values,
            device=pixel_values.device,
        )

    def forward(
        self,
        pixel_values: torch.Tensor,
        bool_masked_pos: torch.Tensor | None = None,
        motion: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        **kwargs: Any,
    ) -> MGMVideoMAEForPreTrainingOutput:
        """
        Args:
            pixel_values: (B, T, C, H, W), normalised as the image processor does.
            bool_masked_pos: (B, L) True = masked, the same count in every row; made when None.
            motion: (B, T, h, w, 2) motion in DESIGN.md's convention, for motion-guided strategies.
            generator: seeds the mask made here.
        """
        kwargs.pop("return_dict", None)  # the output is always a ModelOutput
        if bool_masked_pos is None:
            bool_masked_pos = self.make_mask(pixel_values, motion=motion, generator=generator)
        else:
            bool_masked_pos = self._check_mask(bool_masked_pos, pixel_values)
        outputs = super().forward(pixel_values, bool_masked_pos=bool_masked_pos, **kwargs)
        return MGMVideoMAEForPreTrainingOutput(
            loss=outputs.loss,
            logits=outputs.logits,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
            bool_masked_pos=bool_masked_pos,
        )

    def _check_mask(self, mask: torch.Tensor, pixel_values: torch.Tensor) -> torch.BoolTensor:
        seq_length = self.videomae.embeddings.num_patches
        expected = (pixel_values.shape[0], seq_length)
        if tuple(mask.shape) != expected:
            raise ValueError(f"bool_masked_pos must have shape {expected}, got {tuple(mask.shape)}.")
        mask = mask.to(device=pixel_values.device, dtype=torch.bool)
        counts = mask.sum(dim=1)
        if bool((counts != counts[0]).any()):
            raise ValueError(
                f"Every row of bool_masked_pos must mask the same number of tokens (VideoMAE's encoder "
                f"needs it); got counts {counts.tolist()}."
            )
        if int(counts[0]) in (0, seq_length):
            raise ValueError("bool_masked_pos masks no token or every token; nothing to reconstruct from.")
        return mask


def _geometry_of(config: MGMVideoMAEConfig) -> dict[str, Any]:
    return {k: getattr(config, k) for k in ("num_frames", "image_size", "patch_size", "tubelet_size")}


__all__ = ["MGMVideoMAE", "MGMVideoMAEForPreTrainingOutput"]
