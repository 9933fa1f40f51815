"""Motion on any grid: resampling, cell positions, magnitudes and per-tubelet aggregation.

Motion convention: ``motion[b, t, y, x] = (dx, dy)``, the displacement in
pixels of the full (H, W) frame of the content at cell (x, y) of sampled frame t since frame t-1.
It may come on any grid h_m × w_m: the 8-px motion-vector grid (28 × 28 for 224 px), full-resolution
optical flow (224 × 224), or anything else. A cell ``(i, j)`` of an h_m × w_m grid covers the pixel
rectangle ``[j W / w_m, (j + 1) W / w_m) × [i H / h_m, (i + 1) H / h_m)``; its centre is the cell's
position. Values are always in full-frame pixels, whatever the grid, so resampling never rescales.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_CHUNK_ELEMENTS = 1 << 20  # block_average works on ~4 MB of input at a time (stays in cache on CPU)


def block_average(motion: torch.Tensor, factor: tuple[int, int], divisor: float = 1.0) -> torch.Tensor:
    """Mean over non-overlapping ``fy × fx`` blocks of cells (area downsampling by integer factors),
    divided by ``divisor`` in the same pass (e.g. pixels -> map cells).

    On CPU it reads the input once, in chunks of frames: the ``fy`` rows of each block are summed
    with vectorised adds into a small reused buffer, then the ``fx`` columns into the output, so no
    full-size temporary is written (for 224 × 224 flow about 2× less CPU time than ``avg_pool3d``,
    and less still than ``adaptive_avg_pool2d`` on the permuted tensor, which needs a copy).
    Elsewhere one ``mean``.

    Args:
        motion: (B, T, h_in, w_in, 2) float, ``h_in`` divisible by ``fy``, ``w_in`` by ``fx``.
        factor: (fy, fx) >= 1.
        divisor: the means are divided by it (1: plain means).

    Returns:
        (B, T, h_in // fy, w_in // fx, 2) float.
    """
    batch, frames, h_in, w_in, _ = motion.shape
    fy, fx = int(factor[0]), int(factor[1])
    if fy < 1 or fx < 1 or h_in % fy or w_in % fx:
        raise ValueError(f"block_average: {h_in} x {w_in} cells do not split into {fy} x {fx} blocks.")
    h_out, w_out = h_in // fy, w_in // fx
    if (fy, fx) == (1, 1):
        return motion if divisor == 1 else motion / divisor
    count = batch * frames
    rows = motion.reshape(count, h_out, fy, w_in * 2)  # a view when motion is contiguous
    if motion.device.type != "cpu":
        pooled = rows.reshape(count, h_out, fy, w_out, fx, 2).sum(dim=(2, 4)) / (fy * fx * divisor)
        return pooled.reshape(batch, frames, h_out, w_out, 2)
    out = motion.new_empty(count, h_out, w_out, 2)
    chunk = max(1, _CHUNK_ELEMENTS // (h_in * w_in * 2))
    buffer = motion.new_empty(min(chunk, count), h_out, w_in * 2) if fy > 1 else None
    for start in range(0, count, chunk):
        part = rows[start : start + chunk]  # (n, h_out, fy, w_in * 2)
        if buffer is None:
            summed = part[:, :, 0]
        else:  # rows of each block: fy - 1 vectorised adds into the cached buffer
            summed = buffer[: part.shape[0]]
            torch.add(part[:, :, 0], part[:, :, 1], out=summed)
            for k in range(2, fy):
                summed += part[:, :, k]
        if fx == 1:
            out[start : start + chunk] = summed.view(-1, h_out, w_out, 2)
            continue
        runs = summed.reshape(-1, w_out, fx, 2)  # columns of each block: fx - 1 adds
        target = out[start : start + chunk].view(-1, w_out, 2)
        torch.add(runs[:, :, 0], runs[:, :, 1], out=target)
        for k in range(2, fx):
            target += runs[:, :, k]
    out.div_(fy * fx * divisor)
    return out.reshape(batch, frames, h_out, w_out, 2)


def pool_motion(motion: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Area-averages motion down to a coarser grid, keeping values in full-frame pixels.

    Exact integer factors use :func:`block_average`; other sizes ``adaptive_avg_pool2d`` (bins of
    uneven size). An axis that is already at or below the asked size is left as it is.

    Args:
        motion: (B, T, h_in, w_in, 2) float.
        size: (h_out, w_out).

    Returns:
        (B, T, min(h_in, h_out), min(w_in, w_out), 2) float.
    """
    batch, frames, h_in, w_in, _ = motion.shape
    h_out, w_out = min(h_in, int(size[0])), min(w_in, int(size[1]))
    if (h_in, w_in) == (h_out, w_out):
        return motion
    if h_in % h_out == 0 and w_in % w_out == 0:
        return block_average(motion, (h_in // h_out, w_in // w_out))
    flat = motion.reshape(batch * frames, h_in, w_in, 2).permute(0, 3, 1, 2)
    flat = F.adaptive_avg_pool2d(flat, (h_out, w_out))
    return flat.permute(0, 2, 3, 1).reshape(batch, frames, h_out, w_out, 2)


def resample_motion(motion: torch.Tensor, size: tuple[int, int], divisor: float = 1.0) -> torch.Tensor:
    """Resamples motion to another grid, keeping values in full-frame pixels (or dividing them by
    ``divisor``, e.g. a map's cell size, on whichever grid is smaller).

    Upsampling uses nearest neighbours (MGM eq. 6: motion vectors are block-constant); downsampling
    by an exact integer factor averages each block (area, :func:`block_average`), otherwise nearest.
    Nearest only copies values, so dividing before or after it gives the same bits.

    Args:
        motion: (B, T, h_m, w_m, 2) float.
        size: (h_out, w_out).
        divisor: values are divided by it (1: unchanged).

    Returns:
        (B, T, h_out, w_out, 2) float.
    """
    batch, frames, h_in, w_in, _ = motion.shape
    h_out, w_out = int(size[0]), int(size[1])
    if h_in % h_out == 0 and w_in % w_out == 0:  # includes the same size
        return block_average(motion, (h_in // h_out, w_in // w_out), divisor)
    if divisor != 1 and h_in * w_in < h_out * w_out:
        motion = motion / divisor
        divisor = 1.0
    flat = motion.reshape(batch * frames, h_in, w_in, 2).permute(0, 3, 1, 2)
    flat = F.interpolate(flat, size=(h_out, w_out), mode="nearest-exact")
    resampled = flat.permute(0, 2, 3, 1).reshape(batch, frames, h_out, w_out, 2)
    return resampled if divisor == 1 else resampled / divisor


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
