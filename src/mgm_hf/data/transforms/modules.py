"""Thin callable wrappers around :mod:`.functional`: ``t(frames, motion=None, generator=None)``
returns ``(frames, motion)``. Random ones draw from ``generator`` (torch or numpy Generator, or the
global torch RNG when None). All are picklable, so they run in DataLoader workers."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from . import functional as TF
from .functional import IMAGENET_MEAN, IMAGENET_STD, Frames, Motion, MotionInterpolation
from .sampling import (
    Generator,
    random_uniform,
    sample_multi_scale_crop,
    sample_random_resized_crop,
)

__all__ = [
    "CenterCrop",
    "Compose",
    "JointTransform",
    "MotionGrid",
    "MultiScaleCrop",
    "Normalize",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "Resize",
    "SpatialCrop",
    "ToFloatTensor",
]

Pair = tuple[torch.Tensor, torch.Tensor | None]


def _pair(size: int | Sequence[int]) -> tuple[int, int]:
    return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))


class JointTransform:
    """Base class: ``__call__(frames, motion=None, generator=None) -> (frames, motion)``."""

    def __call__(self, frames: Frames, motion: Motion = None, generator: Generator = None) -> Pair:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Compose(JointTransform):
    """Applies transforms in order, passing the same generator to each."""

    def __init__(self, transforms: Sequence[JointTransform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, frames: Frames, motion: Motion = None, generator: Generator = None) -> Pair:
        for transform in self.transforms:
            frames, motion = transform(frames, motion, generator)
        return frames, motion  # type: ignore[return-value]

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class MultiScaleCrop(JointTransform):
    """VideoMAE's ``GroupMultiScaleCrop`` (scales 1, .875, .75, .66 of the short side, fixed
    lattice positions) then a resize to ``size``. ``motion_size`` fixes the output grid (None:
    scaled like the frame). Frames smaller than ``size`` are upscaled (``VideoTransform`` counts
    them)."""

    def __init__(
        self,
        size: int | Sequence[int] = 224,
        scales: Sequence[float] = (1.0, 0.875, 0.75, 0.66),
        max_distort: int = 1,
        fix_crop: bool = True,
        more_fix_crop: bool = True,
        motion_size: Sequence[int] | None = None,
        motion_interpolation: MotionInterpolation = "bilinear",
    ) -> None:
        self.size = _pair(size)
        self.scales = tuple(float(s) for s in scales)
        self.max_distort = int(max_distort)
        self.fix_crop = bool(fix_crop)
        self.more_fix_crop = bool(more_fix_crop)
        self.motion_size = None if motion_size is None else _pair(motion_size)
        self.motion_interpolation = motion_interpolation

    def __call__(self, frames: Frames, motion: Motion = None, generator: Generator = None) -> Pair:
        height, width = TF.frame_size(frames)
        box = sample_multi_scale_crop(
            height, width, self.size, self.scales, self.max_distort, self.fix_crop, self.more_fix_crop,
            generator,
        )
        return TF.resized_crop(
            frames, motion, box, self.size, motion_size=self.motion_size,
            motion_interpolation=self.motion_interpolation,
        )


class RandomResizedCrop(JointTransform):
    """torchvision-style random resized crop (area ``scale``, aspect ``ratio``) then resize to ``size``.
    Frames smaller than ``size`` are upscaled (``VideoTransform`` counts them)."""

    def __init__(
        self,
        size: int | Sequence[int] = 224,
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
        motion_size: Sequence[int] | None = None,
        motion_interpolation: MotionInterpolation = "bilinear",
    ) -> None:
        self.size = _pair(size)
        self.scale = (float(scale[0]), float(scale[1]))
        self.ratio = (float(ratio[0]), float(ratio[1]))
        self.motion_size = None if motion_size is None else _pair(motion_size)
        self.motion_interpolation = motion_interpolation

    def __call__(self, frames: Frames, motion: Motion = None, generator: Generator = None) -> Pair:
        height, width = TF.frame_size(frames)
        box = sample_random_resized_crop(height, width, self.scale, self.ratio, generator=generator)
        return TF.resized_crop(
            frames, motion, box, self.size, motion_size=self.motion_size,
            motion_interpolation=self.motion_interpolation,
        )


class Resize(JointTransform):
    """Resize: an int sets the short side (aspect kept), a pair the exact ``(H, W)`` (smaller frames
    are upscaled)."""

    def __init__(
        self,
        size: int | Sequence[int],
        motion_size: Sequence[int] | None = None,
        motion_interpolation: MotionInterpolation = "bilinear",
    ) -> None:
        self.size = int(size) if isinstance(size, int) else _pair(size)
        self.motion_size = None if motion_size is None else _pair(motion_size)
        self.motion_interpolation = motion_interpolation

    def __call__(self, frames: Frames, motion: Motion = None, generator: Generator = None) -> Pair:
        return TF.resize(
            frames, motion, self.size, motion_size=self.motion_size,
            motion_interpolation=self.motion_interpolation,
        )


class CenterCrop(JointTransform):
    """Centre crop of ``size`` (no resize)."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = _pair(size)

    def __call__(self, frames: Frames, motion: Motion = None, generator: Generator = None) -> Pair:
        return TF.center_crop(frames, motion, self.size)


class SpatialCrop(JointTransform):
    """One of the three test crops (:func:`~.functional.three_crop_boxes`): ``index`` 0 = start,
    1 = centre, 2 = end of the longer side."""

    def __init__(self, size: int, index: int = 1) -> None:
        if index not in (0, 1, 2):
            raise ValueError(f"index must be 0, 1 or 2, got {index}.")
        self.size = int(size)
        self.index = int(index)

    def __call__(self, frames: Frames, motion: Motion = None, generator: Generator = None) -> Pair:
        box = TF.three_crop_boxes(*TF.frame_size(frames), self.size)[self.index]
        return TF.crop(frames, motion, box)


class RandomHorizontalFlip(JointTransform):
    """Flips frames and motion (grid mirrored, dx negated) with probability ``p``.

    ``enabled=False`` turns it into the identity, for datasets where left/right carries the label
    (Something-Something v2: "pushing something from left to right")."""

    def __init__(self, p: float = 0.5, enabled: bool = True) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must lie in [0, 1], got {p}.")
        self.p = float(p)
        self.enabled = bool(enabled)

    def __call__(self, frames: Frames, motion: Motion = None, generator: Generator = None) -> Pair:
        if self.enabled and self.p > 0 and random_uniform(0.0, 1.0, generator) < self.p:
            return TF.hflip(frames, motion)
        return TF._prepare(frames, motion)


class MotionGrid(JointTransform):
    """Resamples the motion grid to a fixed ``size`` (values unchanged: the frame is unchanged), so
    that clips of different shapes batch together."""

    def __init__(self, size: int | Sequence[int], interpolation: MotionInterpolation = "bilinear") -> None:
        self.size = _pair(size)
        self.interpolation = interpolation

    def __call__(self, frames: Frames, motion: Motion = None, generator: Generator = None) -> Pair:
        frames, motion = TF._prepare(frames, motion)
        return frames, TF.resize_motion_grid(motion, self.size, self.interpolation)


class ToFloatTensor(JointTransform):
    """uint8 (T, H, W, C) → float32 (T, C, H, W) in [0, 1]; motion unchanged."""

    def __call__(self, frames: Frames, motion: Motion = None, generator: Generator = None) -> Pair:
        frames, motion = TF._prepare(frames, motion)
        return TF.to_float_tchw(frames), motion


class Normalize(JointTransform):
    """Per-channel ``(x - mean) / std`` (ImageNet by default) on float (T, C, H, W) frames."""

    def __init__(
        self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD
    ) -> None:
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)

    def __call__(self, frames: Frames, motion: Motion = None, generator: Generator = None) -> Pair:
        frames, motion = TF._prepare(frames, motion)
        return TF.normalize(frames, self.mean, self.std), motion
