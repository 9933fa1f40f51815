"""Motion on any grid: resampling, cell positions, magnitudes and per-tubelet aggregation.

Motion follows DESIGN.md's convention: ``motion[b, t, y, x] = (dx, dy)``, the displacement in
pixels of the full (H, W) frame of the content at cell (x, y) of sampled frame t since frame t-1.
It may come on any grid h_m × w_m: the 8-px motion-vector grid (28 × 28 for 224 px), full-resolution
optical flow (224 × 224), or anything else. A cell ``(i, j)`` of an h_m × w_m grid covers the pixel
rectangle ``[j W / w_m, (j + 1) W / w_m) × [i H / h_m, (i + 1) H / h_m)``; its centre is the cell's
position. Values are always in full-frame pixels, whatever the grid, so resampling never rescales.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def resample_motion(motion: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resamples motion to another grid, keeping values in full-frame pixels.

    Upsampling uses nearest neighbours (MGM eq. 6: motion vectors are block-constant); downsampling
    by an exact integer factor averages each block (area), otherwise nearest.

    Args:
        motion: (B, T, h_m, w_m, 2) float.
        size: (h_out, w_out).

    Returns:
        (B, T, h_out, w_out, 2) float.
    """
    batch, frames, h_in, w_in, _ = motion.shape
    h_out, w_out = int(size[0]), int(size[1])
    if (h_in, w_in) == (h_out, w_out):
        return motion
    if h_in % h_out == 0 and w_in % w_out == 0:  # block average on the (dx, dy)-last layout, no copy
        volume = motion.reshape(batch * frames, 1, h_in, w_in, 2)
        pooled = F.avg_pool3d(volume, kernel_size=(h_in // h_out, w_in // w_out, 1))
        return pooled.reshape(batch, frames, h_out, w_out, 2)
    flat = motion.reshape(batch * frames, h_in, w_in, 2).permute(0, 3, 1, 2)
    flat = F.interpolate(flat, size=(h_out, w_out), mode="nearest-exact")
    return flat.permute(0, 2, 3, 1).reshape(batch, frames, h_out, w_out, 2)


def cell_centres(grid: tuple[int, int], image_size: tuple[int, int], unit: float = 1.0) -> torch.Tensor:
    """Centres of the cells of an h_m × w_m grid over an (H, W) frame, in pixels / ``unit``.

    Returns:
        (h_m, w_m, 2) float: ``[..., 0]`` = x, ``[..., 1]`` = y.
    """
    h_m, w_m = grid
    height, width = image_size
    ys = (torch.arange(h_m, dtype=torch.float32) + 0.5) * (height / h_m) / unit
    xs = (torch.arange(w_m, dtype=torch.float32) + 0.5) * (width / w_m) / unit
    return torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)


def tubelet_magnitude(motion: torch.Tensor, tubelet_size: int, reduce: str = "mean") -> torch.Tensor:
    """Motion magnitude per cell, aggregated over the frames of each tubelet.

    Frame t belongs to tubelet ``t // tubelet_size``; ``motion[t]`` (the move from t-1 to t) counts
    for the tubelet of frame t.

    Args:
        motion: (B, T, h_m, w_m, 2).
        tubelet_size: frames per tubelet.
        reduce: ``"mean"`` (total motion of the tubelet) or ``"max"`` (its strongest frame).

    Returns:
        (B, T // tubelet_size, h_m, w_m) float, ``|(dx, dy)|`` in pixels.
    """
    batch, frames, h_m, w_m, _ = motion.shape
    magnitude = torch.hypot(motion[..., 0], motion[..., 1])
    magnitude = magnitude.reshape(batch, frames // tubelet_size, tubelet_size, h_m, w_m)
    if reduce == "mean":
        return magnitude.mean(dim=2)
    if reduce == "max":
        return magnitude.amax(dim=2)
    raise ValueError(f"reduce must be 'mean' or 'max', got {reduce!r}.")
