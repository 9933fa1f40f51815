"""The papers' augmentation recipes (VideoMAE, MGM, MGMAE) as ready :class:`Compose` pipelines.

All end with float32 (T, C, H, W) frames normalised with ImageNet statistics and motion on a fixed
``(size // motion_cell)²`` grid, so every clip of a run batches together.
"""

from __future__ import annotations

from collections.abc import Sequence

from .functional import IMAGENET_MEAN, IMAGENET_STD
from .modules import (
    Compose,
    MotionGrid,
    MultiScaleCrop,
    Normalize,
    RandomHorizontalFlip,
    RandomResizedCrop,
    Resize,
    SpatialCrop,
    ToFloatTensor,
)

__all__ = ["eval_transforms", "finetune_transform", "pretrain_transform"]


def _grid(size: int, motion_cell: int) -> tuple[int, int]:
    if motion_cell <= 0 or size % motion_cell:
        raise ValueError(f"motion_cell must divide size, got size={size}, motion_cell={motion_cell}.")
    return (size // motion_cell, size // motion_cell)


def pretrain_transform(
    size: int = 224,
    flip: bool = True,
    scales: Sequence[float] = (1.0, 0.875, 0.75, 0.66),
    motion_cell: int = 8,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> Compose:
    """Pretraining (VideoMAE / MGM Table 5): multi-scale crop to ``size``, horizontal flip
    (``flip=False`` for SSv2), to float, normalise."""
    return Compose(
        [
            MultiScaleCrop(size, scales, motion_size=_grid(size, motion_cell)),
            RandomHorizontalFlip(enabled=flip),
            ToFloatTensor(),
            Normalize(mean, std),
        ]
    )


def finetune_transform(
    size: int = 224,
    flip: bool = True,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
    motion_cell: int = 8,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> Compose:
    """Fine-tuning (VideoMAE's ``spatial_sampling`` with random resized crop): random resized crop,
    flip (off for SSv2), to float, normalise. RandAugment, mixup and random erasing are not
    included (they act on pixels only; add them after this pipeline)."""
    return Compose(
        [
            RandomResizedCrop(size, scale, ratio, motion_size=_grid(size, motion_cell)),
            RandomHorizontalFlip(enabled=flip),
            ToFloatTensor(),
            Normalize(mean, std),
        ]
    )


def eval_transforms(
    size: int = 224,
    num_crops: int = 3,
    short_side: int | None = None,
    motion_cell: int = 8,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> list[Compose]:
    """Test views: resize the short side to ``short_side`` (default ``size``), then ``num_crops`` = 3
    (start, centre, end of the long side, the papers' "× 3 crops") or 1 (centre) square crops."""
    if num_crops not in (1, 3):
        raise ValueError(f"num_crops must be 1 or 3, got {num_crops}.")
    indices = (1,) if num_crops == 1 else (0, 1, 2)
    return [
        Compose(
            [
                Resize(short_side or size),
                SpatialCrop(size, index),
                MotionGrid(_grid(size, motion_cell)),
                ToFloatTensor(),
                Normalize(mean, std),
            ]
        )
        for index in indices
    ]
