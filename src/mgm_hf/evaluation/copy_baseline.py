"""A trivial "copy from visible" reconstruction that follows the true motion: a leakage probe.

If a masked token's content is visible in a nearby frame, a model can solve the pretraining task by
copying it, without learning much (VideoMAE section 3.3's "information leakage"; MGM and MGMAE's
motivation). This baseline does exactly that, with the motion known: every masked pixel follows its
content, frame by frame, to the nearest frame (``|s - t|`` smallest, earlier first on ties) where
the token under the tracked position is visible, and copies the pixel from there (bilinear).
Pixels with no visible source anywhere fall back to the clip's mean visible colour. The lower its
error on masked tokens, the more the mask leaks.

Tracking uses DESIGN.md's convention, ``motion[t](q)`` = displacement of the content at q of frame t
since frame t-1: going back, ``p_{s-1} = p_s - motion[s](p_s)``; going forward, the inverse of
``motion[s+1]`` (fixed-point, exact for translations) moves ``p_s`` to ``p_{s+1}``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from mgm_hf.masking import MaskGeometry
from mgm_hf.masking.warping import invert_flow

from .tokens import patch_statistics, patchify, pixel_motion, token_mask_to_pixels


@dataclass
class CopyReconstruction:
    """Result of :func:`copy_from_visible`.

    Attributes:
        frames: (B, T, C, H, W) the input with every masked pixel replaced by its copy.
        found: (B, T, H, W) bool, True where a masked pixel found a visible source (always True on
            visible pixels).
        source_distance: (B, T, H, W) int, ``|s - t|`` of the frame copied from (0 on visible pixels,
            -1 where nothing was found).
    """

    frames: torch.Tensor
    found: torch.Tensor
    source_distance: torch.Tensor


def _sample(values: torch.Tensor, pos: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """``values`` (N, C, H, W) at pixel positions ``pos`` (N, H, W, 2) = (x, y); zeros outside."""
    h, w = values.shape[-2:]
    scale = torch.tensor([2.0 / w, 2.0 / h], dtype=pos.dtype, device=pos.device)
    grid = (pos + 0.5) * scale - 1.0
    return F.grid_sample(values, grid, mode=mode, padding_mode="zeros", align_corners=False)


def _tracks(motion: torch.Tensor, target: int, forward: list[torch.Tensor]) -> dict[int, torch.Tensor]:
    """Positions (B, H, W, 2) in every frame s of the content at each pixel of frame ``target``."""
    b, t, h, w, _ = motion.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=motion.dtype), torch.arange(w, dtype=motion.dtype), indexing="ij")
    start = torch.stack([xs, ys], -1).expand(b, h, w, 2).to(motion.device)
    tracks = {target: start}
    pos = start
    for s in range(target, 0, -1):  # back: p_{s-1} = p_s - motion[s](p_s)
        step = _sample(motion[:, s].permute(0, 3, 1, 2), pos).permute(0, 2, 3, 1)
        pos = pos - step
        tracks[s - 1] = pos
    pos = start
    for s in range(target, t - 1):  # forward: p_{s+1} = p_s + inverse(motion[s+1])(p_s)
        step = _sample(forward[s].permute(0, 3, 1, 2), pos).permute(0, 2, 3, 1)
        pos = pos + step
        tracks[s + 1] = pos
    return tracks


def copy_from_visible(
    frames: torch.Tensor, motion: torch.Tensor, mask: torch.Tensor, geometry: MaskGeometry,
    inverse_iterations: int = 8,
) -> CopyReconstruction:
    """Reconstructs every masked pixel by copying it from the nearest frame where it is visible.

    Args:
        frames: (B, T, C, H, W) float pixels (e.g. in [0, 1]).
        motion: (B, T, h_m, w_m, 2) in pixels, DESIGN.md's convention, on any grid (resampled to
            pixels by nearest neighbour).
        mask: (B, L) bool, True = masked.
        geometry: the token geometry of ``frames``.
        inverse_iterations: fixed-point steps inverting the flow for forward tracking.

    Returns:
        :class:`CopyReconstruction`.
    """
    t, h, w = frames.shape[1], frames.shape[3], frames.shape[4]
    flow = pixel_motion(motion, geometry).to(frames.dtype)  # (B, T, H, W, 2)
    visible = ~token_mask_to_pixels(mask.bool(), geometry)  # (B, T, H, W)
    # forward[s]: displacement of the content at each pixel of frame s into frame s+1.
    forward = [invert_flow(flow[:, s + 1], inverse_iterations) for s in range(t - 1)]
    out = frames.clone()
    found = visible.clone()
    distance = torch.where(visible, 0, -1)
    for target in range(t):
        tracks = _tracks(flow, target, forward)
        todo = ~visible[:, target]
        for d in range(1, t):
            for s in (target - d, target + d):
                if not 0 <= s < t or not bool(todo.any()):
                    continue
                pos = tracks[s]
                inside = (pos[..., 0] >= -0.5) & (pos[..., 0] <= w - 0.5) & (pos[..., 1] >= -0.5) & (pos[..., 1] <= h - 0.5)
                seen = _sample(visible[:, s, None].to(frames.dtype), pos, mode="nearest")[:, 0] > 0.5
                take = todo & inside & seen
                if not bool(take.any()):
                    continue
                copied = _sample(frames[:, s], pos)  # (B, C, H, W)
                out[:, target] = torch.where(take[:, None], copied, out[:, target])
                distance[:, target] = torch.where(take, d, distance[:, target])
                todo = todo & ~take
        found[:, target] = ~todo
        if bool(todo.any()):  # no visible source: the clip's mean visible colour
            weights = visible.to(frames.dtype)[:, :, None]  # (B, T, 1, H, W)
            mean = (frames * weights).sum(dim=(1, 3, 4)) / weights.sum(dim=(1, 3, 4)).clamp_min(1.0)  # (B, C)
            out[:, target] = torch.where(todo[:, None], mean[:, :, None, None], out[:, target])
    return CopyReconstruction(frames=out, found=found, source_distance=distance)


def masked_token_mse(
    prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, geometry: MaskGeometry,
    norm_pix: bool = False,
) -> torch.Tensor:
    """Mean squared error over the masked tokens, per clip.

    Args:
        prediction, target: (B, T, C, H, W) pixels.
        mask: (B, L) bool, True = masked.
        norm_pix: first normalise both with the per-token, per-channel mean and std of the *target*
            (VideoMAE's ``norm_pix_loss`` targets), so the number compares with the pretraining loss.

    Returns:
        (B,) float.
    """
    pred, true = patchify(prediction, geometry), patchify(target, geometry)  # (B, L, N, C)
    if norm_pix:
        mean, std = patch_statistics(true)
        pred, true = (pred - mean) / std, (true - mean) / std
    per_token = (pred - true).square().mean(dim=(-2, -1))  # (B, L)
    weights = mask.bool().to(per_token.dtype)
    return (per_token * weights).sum(-1) / weights.sum(-1).clamp_min(1.0)


__all__ = ["CopyReconstruction", "copy_from_visible", "masked_token_mse"]
