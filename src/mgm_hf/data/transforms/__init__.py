"""Joint transforms of frames and motion: pure functions, callable wrappers and the papers' presets.

See :mod:`.functional` for how motion follows each operation (crop rounding, resize scaling, flip).
"""

from __future__ import annotations

from .functional import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    CropBox,
    center_crop,
    center_crop_box,
    crop,
    crop_motion,
    frame_size,
    hflip,
    normalize,
    resize,
    resize_motion_grid,
    resized_crop,
    short_side_size,
    three_crop,
    three_crop_boxes,
    to_float_tchw,
)
from .modules import (
    CenterCrop,
    Compose,
    JointTransform,
    MotionGrid,
    MultiScaleCrop,
    Normalize,
    RandomHorizontalFlip,
    RandomResizedCrop,
    Resize,
    SpatialCrop,
    ToFloatTensor,
)
from .presets import eval_transforms, finetune_transform, pretrain_transform
from .sampling import (
    multi_scale_crop_offsets,
    sample_multi_scale_crop,
    sample_random_resized_crop,
)

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "CenterCrop",
    "Compose",
    "CropBox",
    "JointTransform",
    "MotionGrid",
    "MultiScaleCrop",
    "Normalize",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "Resize",
    "SpatialCrop",
    "ToFloatTensor",
    "center_crop",
    "center_crop_box",
    "crop",
    "crop_motion",
    "eval_transforms",
    "finetune_transform",
    "frame_size",
    "hflip",
    "multi_scale_crop_offsets",
    "normalize",
    "pretrain_transform",
    "resize",
    "resize_motion_grid",
    "resized_crop",
    "sample_multi_scale_crop",
    "sample_random_resized_crop",
    "short_side_size",
    "three_crop",
    "three_crop_boxes",
    "to_float_tchw",
]
