"""Random crop boxes: VideoMAE's multi-scale crop and torchvision's random resized crop.

Every sampler takes ``generator``: a ``torch.Generator``, a ``numpy.random.Generator`` or None (the
global torch RNG, which DataLoader seeds differently in each worker).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from .functional import CropBox

__all__ = [
    "Generator",
    "multi_scale_crop_offsets",
    "randint",
    "random_uniform",
    "sample_multi_scale_crop",
    "sample_random_resized_crop",
]

Generator = torch.Generator | np.random.Generator | None


def randint(high: int, generator: Generator = None) -> int:
    """A uniform integer in ``[0, high)``."""
    if high <= 0:
        raise ValueError(f"randint needs high > 0, got {high}.")
    if isinstance(generator, np.random.Generator):
        return int(generator.integers(high))
    return int(torch.randint(high, (1,), generator=generator).item())


def random_uniform(low: float, high: float, generator: Generator = None) -> float:
    """A uniform float in ``[low, high)``."""
    if isinstance(generator, np.random.Generator):
        u = float(generator.random())
    else:
        u = float(torch.rand((1,), generator=generator).item())
    return low + (high - low) * u


def multi_scale_crop_offsets(
    height: int, width: int, crop_h: int, crop_w: int, more_fix_crop: bool = True
) -> list[tuple[int, int]]:
    """VideoMAE's ``fill_fix_offset``: the 5 (or 13 with ``more_fix_crop``) fixed ``(top, left)``
    positions on a 4×4 lattice of steps ``(H - crop_h) // 4``, ``(W - crop_w) // 4``."""
    h_step, w_step = (height - crop_h) // 4, (width - crop_w) // 4
    lattice = [(0, 0), (0, 4), (4, 0), (4, 4), (2, 2)]
    if more_fix_crop:
        lattice += [(2, 0), (2, 4), (4, 2), (0, 2), (1, 1), (1, 3), (3, 1), (3, 3)]
    return [(i * h_step, j * w_step) for i, j in lattice]


def sample_multi_scale_crop(
    height: int,
    width: int,
    output_size: int | tuple[int, int] = 224,
    scales: Sequence[float] = (1.0, 0.875, 0.75, 0.66),
    max_distort: int = 1,
    fix_crop: bool = True,
    more_fix_crop: bool = True,
    generator: Generator = None,
) -> CropBox:
    """VideoMAE/TSN ``GroupMultiScaleCrop``: a crop box to be resized to ``output_size``.

    Crop sides are ``int(min(H, W) * scale)`` (snapped to the output side when within 3 px) for
    scale pairs whose indices differ by at most ``max_distort``; the box sits at one of the fixed
    lattice positions (:func:`multi_scale_crop_offsets`) or, with ``fix_crop=False``, anywhere.
    """
    out_h, out_w = (output_size, output_size) if isinstance(output_size, int) else output_size
    base = min(height, width)
    sides = [int(base * s) for s in scales]
    crop_hs = [out_h if abs(s - out_h) < 3 else s for s in sides]
    crop_ws = [out_w if abs(s - out_w) < 3 else s for s in sides]
    pairs = [
        (min(h, height), min(w, width))
        for i, h in enumerate(crop_hs)
        for j, w in enumerate(crop_ws)
        if abs(i - j) <= max_distort
    ]
    crop_h, crop_w = pairs[randint(len(pairs), generator)]
    crop_h, crop_w = max(crop_h, 1), max(crop_w, 1)
    if fix_crop:
        offsets = multi_scale_crop_offsets(height, width, crop_h, crop_w, more_fix_crop)
        top, left = offsets[randint(len(offsets), generator)]
    else:
        top = randint(height - crop_h + 1, generator)
        left = randint(width - crop_w + 1, generator)
    return CropBox(top, left, crop_h, crop_w)


def sample_random_resized_crop(
    height: int,
    width: int,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
    attempts: int = 10,
    generator: Generator = None,
) -> CropBox:
    """torchvision's ``RandomResizedCrop.get_params``: area share in ``scale``, aspect ratio
    (w / h, log-uniform) in ``ratio``; after ``attempts`` misses, a centre crop clamped to ``ratio``."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(attempts):
        target_area = area * random_uniform(scale[0], scale[1], generator)
        aspect = math.exp(random_uniform(log_ratio[0], log_ratio[1], generator))
        crop_w = round(math.sqrt(target_area * aspect))
        crop_h = round(math.sqrt(target_area / aspect))
        if 0 < crop_w <= width and 0 < crop_h <= height:
            top = randint(height - crop_h + 1, generator)
            left = randint(width - crop_w + 1, generator)
            return CropBox(top, left, crop_h, crop_w)
    in_ratio = width / height
    if in_ratio < min(ratio):
        crop_w, crop_h = width, round(width / min(ratio))
    elif in_ratio > max(ratio):
        crop_h, crop_w = height, round(height * max(ratio))
    else:
        crop_w, crop_h = width, height
    return CropBox((height - crop_h) // 2, (width - crop_w) // 2, crop_h, crop_w)
