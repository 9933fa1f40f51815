"""From a pretraining model's outputs back to pixels.

With ``norm_pix_loss=True`` (the papers' default) the model predicts each masked token normalised
by its own mean and std (per channel), so the prediction alone has no brightness or contrast. As
VideoMAE's visualisation does, each masked patch is de-normalised with the mean and std of the
*true* patch for display: the picture shows the predicted structure, with the true patch's
statistics borrowed, and its row says so (:func:`reconstruction_name`). Visible tokens show the
input pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from mgm_hf.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from mgm_hf.mask_metrics.tokens import patch_statistics, patchify, unpatchify
from mgm_hf.masking import MaskGeometry


def unnormalize(pixel_values: torch.Tensor, mean: Sequence[float] = IMAGENET_MEAN,
                std: Sequence[float] = IMAGENET_STD) -> torch.Tensor:
    """(..., T, C, H, W) normalised -> same shape in [0, 1] (not clamped)."""
    m = torch.as_tensor(mean, dtype=pixel_values.dtype).view(-1, 1, 1)
    s = torch.as_tensor(std, dtype=pixel_values.dtype).view(-1, 1, 1)
    return pixel_values * s + m


def reconstruct(frames: torch.Tensor, mask: torch.Tensor, logits: torch.Tensor, geometry: MaskGeometry,
                norm_pix_loss: bool = True) -> torch.Tensor:
    """Pastes the predicted masked tokens into the clip.

    Args:
        frames: (T, C, H, W) true pixels in [0, 1].
        mask: (L,) bool, True = masked; ``logits`` rows follow the masked tokens in index order.
        logits: (num_masked, tubelet * patch² * C), the model's ``logits`` for this clip.
        norm_pix_loss: the model predicts per-patch normalised pixels: de-normalise each with the
            true patch's mean and std (see the module docstring).

    Returns:
        (T, C, H, W) in [0, 1]: visible tokens from ``frames``, masked ones predicted.
    """
    patches = patchify(frames[None].float(), geometry)[0]  # (L, N, C)
    mask = mask.bool()
    channels = patches.shape[-1]
    prediction = logits.float().reshape(int(mask.sum()), -1, channels)
    if norm_pix_loss:
        mean, std = patch_statistics(patches[mask])
        prediction = prediction * std + mean
    out = patches.clone()
    out[mask] = prediction
    return unpatchify(out[None], geometry)[0].clamp(0, 1)


def reconstruction_name(norm_pix_loss: bool) -> str:
    """The reconstruction row's name: says when the masked patches borrow the true patches' mean/std."""
    return "reconstruction (true patch mean/std)" if norm_pix_loss else "reconstruction"


def to_uint8_frames(frames: torch.Tensor) -> np.ndarray:
    """(T, C, H, W) in [0, 1] -> numpy uint8 (T, H, W, 3)."""
    return (frames.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


__all__ = ["reconstruct", "reconstruction_name", "to_uint8_frames", "unnormalize"]
