"""Datasets, joint transforms, collation and the ``prepare`` transcoder.

Typical pretraining input: the transform decodes, augments and masks each row (every draw from one
generator of that row), the collator only stacks::

    from mgm_hf.data import VideoCollator, VideoTransform, load_video_dataset, pretrain_transform
    from mgm_hf.masking import build_masking_strategy

    masking = build_masking_strategy({"name": "mgm", "mask_ratio": 0.9}, num_frames=16, image_size=224,
                                     patch_size=16, tubelet_size=2)
    ds = load_video_dataset("ssv2", "/data/ssv2_h264", "train", transform=VideoTransform(
        pretrain_transform(224, flip=False), num_frames=16, frame_stride=2, num_repeats=2, masking=masking))
    loader = torch.utils.data.DataLoader(ds, batch_size=8, num_workers=8, collate_fn=VideoCollator())

For clips and masks that depend only on ``(seed, epoch, position)`` (exact resume), the training
scripts read the rows through ``mgm_hf.training.data.seeded_loader``, which passes each row's sample
seed to the transform as a ``sample_seed`` column.
"""

from __future__ import annotations

from .collator import VideoCollator
from .dataset_splits import VideoItem, class_names, list_videos, resolve_dataset, video_dataset
from .failures import FailureTracker, TooManyFailuresError
from .loading import load_video_dataset
from .parsers import (
    VIDEO_EXTENSIONS,
    AnnotationError,
    AnnotationIssue,
    ParsedAnnotations,
    RecordCollector,
    VideoResolver,
    available_datasets,
    get_dataset_parser,
    register_dataset_parser,
)
from .transcode import EncodeSettings, transcode_file, verify_h264
from .transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    CenterCrop,
    Compose,
    CropBox,
    JointTransform,
    MotionGrid,
    MultiScaleCrop,
    Normalize,
    RandomHorizontalFlip,
    RandomResizedCrop,
    Resize,
    SpatialCrop,
    ToFloatTensor,
    eval_transforms,
    finetune_transform,
    pretrain_transform,
)
from .video_transform import VideoTransform

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "VIDEO_EXTENSIONS",
    "AnnotationError",
    "AnnotationIssue",
    "CenterCrop",
    "Compose",
    "CropBox",
    "EncodeSettings",
    "FailureTracker",
    "JointTransform",
    "MotionGrid",
    "MultiScaleCrop",
    "Normalize",
    "ParsedAnnotations",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "RecordCollector",
    "Resize",
    "SpatialCrop",
    "ToFloatTensor",
    "TooManyFailuresError",
    "VideoCollator",
    "VideoItem",
    "VideoResolver",
    "VideoTransform",
    "available_datasets",
    "class_names",
    "eval_transforms",
    "finetune_transform",
    "get_dataset_parser",
    "list_videos",
    "load_video_dataset",
    "pretrain_transform",
    "register_dataset_parser",
    "resolve_dataset",
    "transcode_file",
    "verify_h264",
    "video_dataset",
]
