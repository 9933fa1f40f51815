"""Pure joint transforms: every function takes ``frames`` and ``motion`` and returns both, changed
consistently, so that motion keeps its convention (``motion[t, y, x] = (dx, dy)``: how far the content
at (x, y) of sampled frame t moved since sampled frame t−1, in pixels of the frame it belongs to, on
any grid ``h × w`` covering the whole frame; resizing scales it, a horizontal flip negates dx,
cropping shifts nothing).

Frames are a tensor (or numpy array) in either layout:

- channels-last ``(T, H, W, C)`` (what the decoder returns, usually uint8), recognised by a last
  dimension of 1 or 3;
- channels-first ``(T, C, H, W)`` (what the model takes, usually float).

The layout and dtype of ``frames`` are kept (uint8 results are rounded and clamped). ``motion`` is
``(T, h, w, 2)`` float32 or ``None`` (then ``None`` comes back).

How motion follows each geometric operation:

- **crop** to the frame box ``(top, left, height, width)``: the grid is cut to the same region of
  the frame *in grid coordinates*. A grid ``h × w`` over a frame ``H × W`` has cells of
  ``H / h × W / w`` pixels; each crop edge is mapped to the grid (``x * w / W``) and **rounded to
  the nearest cell boundary** (halves round down), keeping at least one cell. The values are not
  changed (cropping shifts nothing). The grid region is off by at most half a cell.
- **resize** of the frame by factors ``(sy, sx)``: the grid is resampled (bilinear with
  antialiasing, or nearest) and ``dx *= sx``, ``dy *= sy``. Changing only the grid resolution
  (:func:`resize_motion_grid`) never changes the values.
- **horizontal flip**: the grid is mirrored and ``dx`` negated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "CropBox",
    "center_crop",
    "center_crop_box",
    "crop",
    "crop_motion",
    "frame_size",
    "hflip",
    "normalize",
    "resize",
    "resize_motion_grid",
    "resized_crop",
    "short_side_size",
    "three_crop",
    "three_crop_boxes",
    "to_float_tchw",
]

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)

Frames = torch.Tensor | np.ndarray
Motion = torch.Tensor | np.ndarray | None
MotionInterpolation = Literal["bilinear", "nearest"]


@dataclass(frozen=True)
class CropBox:
    """A crop in frame pixels: rows ``top:top+height``, columns ``left:left+width``."""

    top: int
    left: int
    height: int
    width: int

    def check(self, frame_height: int, frame_width: int) -> None:
        if self.height <= 0 or self.width <= 0:
            raise ValueError(f"Empty crop {self}.")
        if self.top < 0 or self.left < 0 or self.top + self.height > frame_height or (
            self.left + self.width > frame_width
        ):
            raise ValueError(f"Crop {self} does not fit in a {frame_height}×{frame_width} frame.")


# ------------------------------------------------------------------------------------------ layout
def _as_tensor(x: Frames) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x


def _channels_last(frames: torch.Tensor) -> bool:
    if frames.dim() != 4:
        raise ValueError(f"frames must be (T, H, W, C) or (T, C, H, W), got shape {tuple(frames.shape)}.")
    return frames.shape[-1] in (1, 3)


def frame_size(frames: Frames) -> tuple[int, int]:
    """``(H, W)`` of frames in either layout."""
    frames = _as_tensor(frames)
    return (frames.shape[1], frames.shape[2]) if _channels_last(frames) else (frames.shape[2], frames.shape[3])


def _check_motion(motion: torch.Tensor, frames: torch.Tensor) -> None:
    if motion.dim() != 4 or motion.shape[-1] != 2 or motion.shape[0] != frames.shape[0]:
        raise ValueError(
            f"motion must be (T, h, w, 2) with T={frames.shape[0]}, got shape {tuple(motion.shape)}."
        )


def _prepare(frames: Frames, motion: Motion) -> tuple[torch.Tensor, torch.Tensor | None]:
    frames = _as_tensor(frames)
    _channels_last(frames)
    if motion is None:
        return frames, None
    motion = _as_tensor(motion)
    _check_motion(motion, frames)
    return frames, motion.float()


def short_side_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """``(H', W')`` with the shorter side equal to ``short_side`` and the aspect ratio kept (rounded)."""
    if height <= width:
        return short_side, max(1, round(width * short_side / height))
    return max(1, round(height * short_side / width)), short_side


# ------------------------------------------------------------------------------------------- crop
def _grid_edges(start: int, length: int, frame: int, grid: int) -> tuple[int, int]:
    """Frame interval ``[start, start+length)`` → grid cells ``[g0, g1)``, rounded to the nearest
    cell boundary (halves down), at least one cell, inside the grid."""
    g0 = math.ceil(start * grid / frame - 0.5)
    g1 = math.ceil((start + length) * grid / frame - 0.5)
    g0 = min(max(g0, 0), grid - 1)
    g1 = min(max(g1, g0 + 1), grid)
    return g0, g1


def crop_motion(motion: torch.Tensor, box: CropBox, frame_hw: tuple[int, int]) -> torch.Tensor:
    """Cuts the motion grid (T, h, w, 2) of a ``frame_hw`` frame to the crop ``box`` (rounding to the
    nearest cell boundary, see the module docstring). Values unchanged. Returns (T, h', w', 2)."""
    height, width = frame_hw
    grid_h, grid_w = motion.shape[1:3]
    y0, y1 = _grid_edges(box.top, box.height, height, grid_h)
    x0, x1 = _grid_edges(box.left, box.width, width, grid_w)
    return motion[:, y0:y1, x0:x1]


def crop(frames: Frames, motion: Motion, box: CropBox) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Crops frames to ``box`` and the motion grid to the same region of the frame.

    Args:
        frames: (T, H, W, C) or (T, C, H, W).
        motion: (T, h, w, 2) or None.
        box: the crop in frame pixels.

    Returns:
        frames (T, box.height, box.width, C) or (T, C, box.height, box.width) in the input layout,
        motion (T, h', w', 2) with h' ≈ h * box.height / H, w' ≈ w * box.width / W.
    """
    frames, motion = _prepare(frames, motion)
    hw = frame_size(frames)
    box.check(*hw)
    rows, cols = slice(box.top, box.top + box.height), slice(box.left, box.left + box.width)
    out = frames[:, rows, cols] if _channels_last(frames) else frames[:, :, rows, cols]
    return out, (None if motion is None else crop_motion(motion, box, hw))


def center_crop_box(height: int, width: int, size: int | tuple[int, int]) -> CropBox:
    """The centred ``size`` box (offsets rounded up, as VideoMAE's ``uniform_crop``)."""
    crop_h, crop_w = (size, size) if isinstance(size, int) else size
    if crop_h > height or crop_w > width:
        raise ValueError(f"Crop {crop_h}×{crop_w} is larger than the {height}×{width} frame.")
    return CropBox(math.ceil((height - crop_h) / 2), math.ceil((width - crop_w) / 2), crop_h, crop_w)


def center_crop(
    frames: Frames, motion: Motion, size: int | tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Centre crop of ``size`` (int = square). Shapes as :func:`crop`."""
    frames = _as_tensor(frames)
    return crop(frames, motion, center_crop_box(*frame_size(frames), size))


def three_crop_boxes(height: int, width: int, size: int) -> list[CropBox]:
    """VideoMAE's three test crops (``uniform_crop`` with spatial index 0, 1, 2): square ``size``
    crops at the start, centre and end of the longer side."""
    if size > min(height, width):
        raise ValueError(f"Crop {size} is larger than the short side of the {height}×{width} frame.")
    centre = center_crop_box(height, width, size)
    if height > width:
        return [CropBox(0, centre.left, size, size), centre, CropBox(height - size, centre.left, size, size)]
    return [CropBox(centre.top, 0, size, size), centre, CropBox(centre.top, width - size, size, size)]


def three_crop(
    frames: Frames, motion: Motion, size: int
) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """The three spatial test views (start, centre, end of the longer side), each as :func:`crop`."""
    frames = _as_tensor(frames)
    return [crop(frames, motion, box) for box in three_crop_boxes(*frame_size(frames), size)]


# ----------------------------------------------------------------------------------------- resize
def _resize_frames(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear with antialiasing (like PIL's resize used by VideoMAE); keeps layout and dtype.

    uint8 frames are resized as uint8 in channels-last memory (torch's fast CPU path, ~30× faster
    than going through float; results differ from rounding the float path by at most 1).
    """
    if tuple(frame_size(frames)) == tuple(size):
        return frames
    last = _channels_last(frames)
    x = frames.permute(0, 3, 1, 2) if last else frames
    if x.dtype == torch.uint8:
        x = F.interpolate(
            x.contiguous(memory_format=torch.channels_last), size=size, mode="bilinear",
            align_corners=False, antialias=True,
        )
    else:
        dtype = x.dtype
        x = F.interpolate(x.float(), size=size, mode="bilinear", align_corners=False, antialias=True).to(dtype)
    return x.permute(0, 2, 3, 1).contiguous() if last else x.contiguous()


def resize_motion_grid(
    motion: torch.Tensor | np.ndarray | None,
    size: tuple[int, int],
    interpolation: MotionInterpolation = "bilinear",
) -> torch.Tensor | None:
    """Resamples the motion grid (T, h, w, 2) to (T, size[0], size[1], 2) over the same frame.

    The frame is unchanged, so the values (pixels of the frame) are unchanged. ``bilinear``
    antialiases when shrinking (an average over the covered cells); ``nearest`` keeps block values.
    """
    if motion is None:
        return None
    motion = _as_tensor(motion).float()
    if tuple(motion.shape[1:3]) == tuple(size):
        return motion
    x = motion.permute(0, 3, 1, 2)
    if interpolation == "nearest":
        x = F.interpolate(x, size=size, mode="nearest-exact")
    elif interpolation == "bilinear":
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    else:
        raise ValueError(f"interpolation must be 'bilinear' or 'nearest', got {interpolation!r}.")
    return x.permute(0, 2, 3, 1).contiguous()


def _scaled_grid(grid_hw: tuple[int, int], scale: tuple[float, float]) -> tuple[int, int]:
    return max(1, round(grid_hw[0] * scale[0])), max(1, round(grid_hw[1] * scale[1]))


def resize(
    frames: Frames,
    motion: Motion,
    size: int | tuple[int, int],
    *,
    motion_size: tuple[int, int] | None = None,
    motion_interpolation: MotionInterpolation = "bilinear",
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Resizes frames and motion together.

    Args:
        frames: (T, H, W, C) or (T, C, H, W).
        motion: (T, h, w, 2) or None.
        size: an int resizes the **short side** to it (aspect ratio kept); ``(H', W')`` is exact.
        motion_size: the output grid ``(h', w')``; None scales the grid like the frame
            (``h' = round(h * H' / H)``, so the cell size in pixels is kept).
        motion_interpolation: ``bilinear`` (antialiased) or ``nearest``.

    Returns:
        frames (T, H', W', C) or (T, C, H', W') and motion (T, h', w', 2) with
        ``dx * W'/W``, ``dy * H'/H``.
    """
    frames, motion = _prepare(frames, motion)
    height, width = frame_size(frames)
    out_hw = short_side_size(height, width, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    scale = (out_hw[0] / height, out_hw[1] / width)
    frames = _resize_frames(frames, out_hw)
    if motion is None:
        return frames, None
    grid = motion_size if motion_size is not None else _scaled_grid(tuple(motion.shape[1:3]), scale)
    motion = resize_motion_grid(motion, tuple(grid), motion_interpolation)
    factors = torch.tensor([scale[1], scale[0]], dtype=motion.dtype)  # (dx, dy)
    return frames, motion * factors


def resized_crop(
    frames: Frames,
    motion: Motion,
    box: CropBox,
    size: int | tuple[int, int],
    *,
    motion_size: tuple[int, int] | None = None,
    motion_interpolation: MotionInterpolation = "bilinear",
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """:func:`crop` to ``box`` then :func:`resize` to ``size`` (an int = square ``size × size``).

    The crop happens before the resize, so only the cropped pixels are interpolated.
    """
    size = (size, size) if isinstance(size, int) else size
    frames, motion = crop(frames, motion, box)
    return resize(frames, motion, size, motion_size=motion_size, motion_interpolation=motion_interpolation)


# ------------------------------------------------------------------------------------------- flip
def hflip(frames: Frames, motion: Motion) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Mirrors frames left-right; the motion grid is mirrored and ``dx`` negated. Shapes unchanged."""
    frames, motion = _prepare(frames, motion)
    frames = frames.flip(2 if _channels_last(frames) else 3)
    if motion is None:
        return frames, None
    motion = motion.flip(2) * torch.tensor([-1.0, 1.0], dtype=motion.dtype)
    return frames, motion


# ---------------------------------------------------------------------------------------- values
def to_float_tchw(frames: Frames) -> torch.Tensor:
    """uint8 frames (any layout) → float32 (T, C, H, W) in [0, 1]; float frames are only permuted."""
    frames = _as_tensor(frames)
    if _channels_last(frames):
        frames = frames.permute(0, 3, 1, 2)
    frames = frames.contiguous()  # cheap on uint8, and makes the arithmetic below fast
    if frames.dtype == torch.uint8:
        return frames.float().div_(255.0)
    return frames.float()


def normalize(
    frames: torch.Tensor,
    mean: tuple[float, ...] = IMAGENET_MEAN,
    std: tuple[float, ...] = IMAGENET_STD,
) -> torch.Tensor:
    """``(frames - mean) / std`` per channel of float (T, C, H, W) frames in [0, 1]."""
    if frames.dtype == torch.uint8:
        frames = to_float_tchw(frames)
    if frames.dim() != 4 or frames.shape[1] != len(mean):
        raise ValueError(f"normalize expects (T, {len(mean)}, H, W) frames, got {tuple(frames.shape)}.")
    mean_t = torch.tensor(mean, dtype=frames.dtype).view(1, -1, 1, 1)
    std_t = torch.tensor(std, dtype=frames.dtype).view(1, -1, 1, 1)
    return (frames - mean_t).div_(std_t)
