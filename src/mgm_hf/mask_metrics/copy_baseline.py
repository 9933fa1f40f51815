"""A trivial "copy from visible" reconstruction that follows the true motion: a leakage probe.

If a masked token's content is visible in a nearby frame, a model can solve the pretraining task by
copying it, without learning much (VideoMAE section 3.3's "information leakage"; MGM and MGMAE's
motivation). This baseline does exactly that, with the motion known: every masked pixel of frame t
looks for its content in the nearest frame s (``|s - t|`` smallest, earlier first on ties) where
that content sits on a visible token, and copies it from there. Pixels with no visible source
anywhere fall back to the clip's mean visible colour. The lower its error on masked tokens, the more
the mask leaks.

Tracking uses only the direct motion convention, ``motion[t](q)`` = displacement of the content at
q of frame t since frame t-1, chained backwards ``p_{k-1} = p_k - motion[k](p_k)``:

* an earlier source s < t: the pixel's own track back to s; the value is sampled there (bilinear);
* a later source s > t: every pixel q of s is tracked back to t and, if q is visible, its value is
  splatted to the nearest pixel of t (no flow inversion); where several pixels of s land on one
  pixel of t, the one that moved farthest is taken to be in front (the moving object occludes the
  static background), and only a visible front pixel is copied.

Both are exact for integer translations. Chained per-frame motion knows nothing of occlusion: a
track through a frame where its content is hidden (background behind the moving object) follows the
occluder from there, so such pixels copy the wrong content or find no source. The baseline is a
probe of what the mask leaves visible along the motion, not an optimal copier.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from mgm_hf.masking import MaskGeometry

from .tokens import patch_statistics, patchify, pixel_motion, token_mask_to_pixels, unpatchify


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


def _back_tracks(flow: torch.Tensor, source: int) -> dict[int, torch.Tensor]:
    """Positions (B, H, W, 2) in every frame t <= ``source`` of the content at each pixel of ``source``."""
    b, _, h, w, _ = flow.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=flow.dtype), torch.arange(w, dtype=flow.dtype), indexing="ij")
    pos = torch.stack([xs, ys], -1).expand(b, h, w, 2).to(flow.device)
    tracks = {source: pos}
    for k in range(source, 0, -1):
        pos = pos - _sample(flow[:, k].permute(0, 3, 1, 2), pos).permute(0, 2, 3, 1)
        tracks[k - 1] = pos
    return tracks


def _inside(pos: torch.Tensor, h: int, w: int) -> torch.Tensor:
    x, y = pos[..., 0], pos[..., 1]
    return (x >= -0.5) & (x < w - 0.5) & (y >= -0.5) & (y < h - 0.5)


def _gather(frames: torch.Tensor, visible: torch.Tensor, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Values (B, C, H, W) of source frame at the target pixels' positions ``pos``, and where usable."""
    h, w = frames.shape[-2:]
    seen = _sample(visible[:, None].to(frames.dtype), pos, mode="nearest")[:, 0] > 0.5
    return _sample(frames, pos), seen & _inside(pos, h, w)


def _splat(frames: torch.Tensor, visible: torch.Tensor, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Source pixels q (value ``frames[:, :, q]``) written to the target pixel nearest ``pos[q]``.

    Where several land on one target pixel the one that moved farthest wins (it is in front: the
    moving object occludes the static background it passes over); the target is filled only if
    that winner is visible. Returns values (B, C, H, W) and where something visible landed (B, H, W).
    """
    b, c, h, w = frames.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=pos.dtype), torch.arange(w, dtype=pos.dtype), indexing="ij")
    moved = (pos - torch.stack([xs, ys], -1).to(pos.device)).norm(dim=-1)  # (B, H, W)
    inside = _inside(pos, h, w)
    xi = pos[..., 0].round().long().clamp(0, w - 1)
    yi = pos[..., 1].round().long().clamp(0, h - 1)
    flat = torch.arange(b, device=frames.device).view(b, 1, 1) * (h * w) + yi * w + xi  # (B, H, W)
    front = torch.full((b * h * w,), -1.0, dtype=pos.dtype, device=frames.device)
    front = front.scatter_reduce(0, flat[inside], moved[inside], reduce="amax")
    ok = inside & visible & (moved >= front[flat] - 1e-3)
    values = torch.zeros(b * h * w, c, dtype=frames.dtype, device=frames.device)
    hit = torch.zeros(b * h * w, dtype=torch.bool, device=frames.device)
    values[flat[ok]] = frames.permute(0, 2, 3, 1)[ok]
    hit[flat[ok]] = True
    return values.view(b, h, w, c).permute(0, 3, 1, 2), hit.view(b, h, w)


def copy_from_visible(
    frames: torch.Tensor, motion: torch.Tensor, mask: torch.Tensor, geometry: MaskGeometry,
) -> CopyReconstruction:
    """Reconstructs every masked pixel by copying it from the nearest frame where it is visible.

    Args:
        frames: (B, T, C, H, W) float pixels (e.g. in [0, 1]).
        motion: (B, T, h_m, w_m, 2) ``(dx, dy)`` in pixels since frame t-1, on any grid (resampled to
            pixels by nearest neighbour).
        mask: (B, L) bool, True = masked.
        geometry: the token geometry of ``frames``.

    Returns:
        :class:`CopyReconstruction`.
    """
    t = frames.shape[1]
    flow = pixel_motion(motion, geometry).to(frames.dtype)  # (B, T, H, W, 2)
    visible = ~token_mask_to_pixels(mask.bool(), geometry)  # (B, T, H, W)
    tracks = [_back_tracks(flow, s) for s in range(t)]  # tracks[s][t']: pixels of s, positions in t' <= s
    out = frames.clone()
    distance = torch.where(visible, 0, -1)
    weights = visible.to(frames.dtype)[:, :, None]  # (B, T, 1, H, W)
    mean = (frames * weights).sum(dim=(1, 3, 4)) / weights.sum(dim=(1, 3, 4)).clamp_min(1.0)  # (B, C)
    for target in range(t):
        todo = ~visible[:, target]
        for d in range(1, t):
            for s in (target - d, target + d):
                if not 0 <= s < t or not bool(todo.any()):
                    continue
                if s < target:
                    values, usable = _gather(frames[:, s], visible[:, s], tracks[target][s])
                else:
                    values, usable = _splat(frames[:, s], visible[:, s], tracks[s][target])
                take = todo & usable
                out[:, target] = torch.where(take[:, None], values, out[:, target])
                distance[:, target] = torch.where(take, d, distance[:, target])
                todo = todo & ~take
        # No visible source: the clip's mean visible colour.
        out[:, target] = torch.where(todo[:, None], mean[:, :, None, None], out[:, target])
    return CopyReconstruction(frames=out, found=distance >= 0, source_distance=distance)


def fill_unfound_with_token_mean(copied: torch.Tensor, target: torch.Tensor, found: torch.Tensor,
                                 geometry: MaskGeometry) -> torch.Tensor:
    """Replaces the pixels without a visible source by their true token's per-channel mean: the blind
    guess that scores exactly ``(n - 1) / n`` (about 1) in norm-pix space, i.e. what a model that
    predicts zeros gets. Makes the copy baseline's norm-pix error comparable to the pretraining loss.

    Args:
        copied, target: (B, T, C, H, W); found: (B, T, H, W) bool.

    Returns:
        (B, T, C, H, W).
    """
    mean = patchify(target, geometry).mean(dim=-2, keepdim=True)  # (B, L, 1, C)
    mean_pixels = unpatchify(mean.expand(*mean.shape[:2], geometry.tubelet_size * geometry.patch_size**2, -1),
                             geometry)
    return torch.where(found[:, :, None], copied, mean_pixels)


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


__all__ = ["CopyReconstruction", "copy_from_visible", "fill_unfound_with_token_mean", "masked_token_mse"]
