"""Pixels <-> tokens, in the exact layout of VideoMAE's pretraining targets.

A clip (B, T, C, H, W) is cut into tokens of ``tubelet × patch × patch`` pixels, ordered
``index = t' * (h * w) + y * w + x`` (:class:`~mgm_hf.masking.MaskGeometry`); inside a token the
pixels are ordered (tubelet, patch_y, patch_x) with the channel last, as
``transformers.VideoMAEForPreTraining`` flattens its labels and logits
(``(B, L, tubelet * patch² * C)`` after a reshape).
"""

from __future__ import annotations

import torch

from mgm_hf.masking import MaskGeometry
from mgm_hf.masking.motion_grid import resample_motion

NORM_PIX_EPS = 1e-6  # transformers' VideoMAE: (x - mean) / (std_unbiased + 1e-6)


def patchify(frames: torch.Tensor, geometry: MaskGeometry) -> torch.Tensor:
    """(B, T, C, H, W) -> (B, L, tubelet * patch * patch, C)."""
    b, t, c, h, w = frames.shape
    ts, p = geometry.tubelet_size, geometry.patch_size
    x = frames.reshape(b, t // ts, ts, c, h // p, p, w // p, p)
    x = x.permute(0, 1, 4, 6, 2, 5, 7, 3)
    return x.reshape(b, (t // ts) * (h // p) * (w // p), ts * p * p, c)


def unpatchify(patches: torch.Tensor, geometry: MaskGeometry) -> torch.Tensor:
    """(B, L, tubelet * patch * patch, C) -> (B, T, C, H, W); the inverse of :func:`patchify`."""
    b, _, _, c = patches.shape
    tt, hh, ww = geometry.token_grid
    ts, p = geometry.tubelet_size, geometry.patch_size
    x = patches.reshape(b, tt, hh, ww, ts, p, p, c)
    x = x.permute(0, 1, 4, 7, 2, 5, 3, 6)
    return x.reshape(b, tt * ts, c, hh * p, ww * p)


def patch_statistics(patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token, per-channel mean and ``std_unbiased + 1e-6`` of (..., N, C) patches: (..., 1, C) each."""
    mean = patches.mean(dim=-2, keepdim=True)
    std = patches.var(dim=-2, unbiased=True, keepdim=True).sqrt() + NORM_PIX_EPS
    return mean, std


def token_mask_to_pixels(mask: torch.Tensor, geometry: MaskGeometry) -> torch.Tensor:
    """(B, L) bool tokens -> (B, T, H, W) bool pixels."""
    tt, hh, ww = geometry.token_grid
    ts, p = geometry.tubelet_size, geometry.patch_size
    grid = mask.reshape(mask.shape[0], tt, hh, ww)
    return grid.repeat_interleave(ts, 1).repeat_interleave(p, 2).repeat_interleave(p, 3)


def pixel_motion(motion: torch.Tensor, geometry: MaskGeometry) -> torch.Tensor:
    """Motion (B, T, h_m, w_m, 2) on any grid -> (B, T, H, W, 2) per pixel (nearest; values in pixels)."""
    return resample_motion(motion.float(), geometry.image_size)


def token_motion_energy(motion: torch.Tensor, geometry: MaskGeometry) -> torch.Tensor:
    """Motion energy per token: the sum over the token's pixels of ``|motion|² = dx² + dy²``.

    Args:
        motion: (B, T, h_m, w_m, 2) ``(dx, dy)`` in pixels since frame t-1, on any grid; each motion cell
            stands for all the pixels it covers.
        geometry: the token geometry (T must equal ``geometry.num_frames``).

    Returns:
        (B, L) float, token order ``t' * (h * w) + y * w + x``.
    """
    per_pixel = pixel_motion(motion, geometry).square().sum(-1)  # (B, T, H, W)
    return patchify(per_pixel.unsqueeze(2), geometry).sum(dim=(-2, -1))


__all__ = ["patch_statistics", "patchify", "pixel_motion", "token_mask_to_pixels", "token_motion_energy",
           "unpatchify"]
