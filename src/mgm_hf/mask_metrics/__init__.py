"""Mask metrics (fidelity of masking strategies): where the mask falls and how much it leaks.

* :func:`token_motion_energy`, :func:`visible_motion_share`, :func:`visible_token_share`: the share of
  motion the encoder still sees (chance level ``1 - ρ``);
* :func:`masks_over_seeds`, :func:`share_over_seeds`: that share (of any per-token weight) as a mean
  over seeded masks with its standard error, next to chance and to the share position alone predicts;
* :func:`copy_from_visible`, :func:`masked_token_mse`: a copy-along-the-true-motion reconstruction
  and its error on masked tokens (lower = more leakage);
* :func:`pretraining_loss`: a model's held-out masked-reconstruction loss under a strategy.
"""

from __future__ import annotations

from .copy_baseline import (
    CopyReconstruction,
    copy_from_visible,
    fill_unfound_with_token_mean,
    masked_token_mse,
)
from .mask_placement import visible_motion_share, visible_token_share
from .pretraining_loss import pretraining_loss
from .share_over_seeds import ShareOverSeeds, masks_over_seeds, share_over_seeds
from .tokens import patch_statistics, patchify, token_mask_to_pixels, token_motion_energy, unpatchify

__all__ = [
    "CopyReconstruction",
    "ShareOverSeeds",
    "copy_from_visible",
    "fill_unfound_with_token_mean",
    "masked_token_mse",
    "masks_over_seeds",
    "patch_statistics",
    "patchify",
    "pretraining_loss",
    "share_over_seeds",
    "token_mask_to_pixels",
    "token_motion_energy",
    "unpatchify",
    "visible_motion_share",
    "visible_token_share",
]
