"""Datasets of the example scripts: video files -> clips -> joint transforms -> masks -> batches.

Resolution of ``--dataset_name``/``--dataset_root``: nothing given means the built-in motion
dataset (generated once, see :mod:`mgm_hf.data.builtin_motion`) read as a ``videofolder``.
Listing the files of a split goes through :func:`mgm_hf.data.load_video_dataset` when present;
decoding through :func:`mgm_hf.video.read_clip`.

Randomness: :class:`VideoClipDataset` draws everything (temporal start, crop, flip, mask) from one
``torch.Generator`` seeded from the global torch RNG on entry, which :class:`SeededDataset`
seeds per sample. The same sample seed therefore gives the same clip and mask everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import Dataset

from mgm_hf.data.builtin_motion import BuiltinMotionSpec, builtin_motion_dataset
from mgm_hf.data.failures import FailureTracker

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoItem:
    path: str
    label: int


def resolve_dataset(name: str | None, root: str | None, spec: BuiltinMotionSpec) -> tuple[str, str]:
    """``(name, root)``; the built-in dataset when ``name`` is None or ``"builtin"``."""
    if name in (None, "builtin"):
        if root is not None:
            raise ValueError("--dataset_root needs --dataset_name (e.g. videofolder).")
        return "videofolder", str(builtin_motion_dataset(spec))
    if root is None:
        raise ValueError(f"--dataset_name {name} needs --dataset_root.")
    return name, root


def list_videos(name: str, root: str, split: str) -> tuple[list[VideoItem], list[str]]:
    """The files and integer labels of one split (via :func:`mgm_hf.data.load_video_dataset`), plus
    the class names (index = label)."""
    from mgm_hf.data import load_video_dataset

    ds = load_video_dataset(name, root, split)
    items = [VideoItem(str(p), int(lbl)) for p, lbl in zip(ds["path"], ds["label"])]
    if not items:
        raise FileNotFoundError(f"Dataset {name!r} at {root} has no videos in split {split!r}.")
    return items, _class_names(ds)


def _class_names(ds: Any) -> list[str]:
    feature = ds.features.get("label")
    if feature is not None and hasattr(feature, "names"):
        return list(feature.names)
    return [str(i) for i in range(max(ds["label"]) + 1)]


def read_clip_at(path: str, num_frames: int, frame_stride: int, motion: str,
                 generator: torch.Generator | None) -> Any:
    """Decodes one clip with :func:`mgm_hf.video.read_clip` at a random temporal start drawn from
    ``generator``."""
    from mgm_hf.video import read_clip

    return read_clip(path, num_frames=num_frames, frame_stride=frame_stride, motion=motion, generator=generator)


class VideoClipDataset(Dataset):
    """``ds[i]`` -> ``{"pixel_values" (T, C, H, W), "labels", "sample_index"[, "motion"][, "bool_masked_pos"]}``.

    Args:
        items: the videos.
        transform: a joint transform ``(frames, motion, generator) -> (frames, motion)``.
        masking: a ``MaskingStrategy``; masks are made here, one per clip, when given.
        motion: what ``read_clip`` should return as motion (``"auto"``, ``"motion_vectors"``,
            ``"optical_flow"``, ``"none"``).
        max_failure_rate: share of unreadable videos tolerated (each logged and skipped, the data
            package's policy) before :class:`~mgm_hf.data.failures.TooManyFailuresError` stops the run.

    Masks are made per clip here (not per batch in a collator) from the clip's own seeded generator,
    so a clip's mask never depends on its batch neighbours: that is what makes resume exact.
    """

    def __init__(self, items: Sequence[VideoItem], *, num_frames: int, frame_stride: int, motion: str,
                 transform: Callable, masking: Any = None, max_failure_rate: float = 0.05) -> None:
        self.items = list(items)
        self.num_frames = num_frames
        self.frame_stride = frame_stride
        self.motion = motion
        self.transform = transform
        self.masking = masking
        self.failures = FailureTracker(max_failure_rate=max_failure_rate)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any] | None:
        """The sample, or None when the video cannot be read (logged and counted by
        ``self.failures``, the data package's policy; :func:`collate` drops it)."""
        from mgm_hf.data.video_transform import DECODE_ERRORS

        item = self.items[index]
        generator = torch.Generator().manual_seed(int(torch.randint(0, 2**62, (1,)).item()))
        try:
            clip = read_clip_at(item.path, self.num_frames, self.frame_stride, self.motion, generator)
            frames, motion = self.transform(clip.frames, clip.motion, generator)
        except DECODE_ERRORS as err:
            self.failures.failure(item.path, f"{type(err).__name__}: {err}")
            return None
        self.failures.success()
        sample: dict[str, Any] = {"pixel_values": frames, "labels": item.label, "sample_index": index}
        if motion is not None:
            sample["motion"] = torch.as_tensor(motion, dtype=torch.float32)
        if self.masking is not None:
            mask_motion = sample.get("motion")
            sample["bool_masked_pos"] = self.masking(
                1, motion=None if mask_motion is None else mask_motion[None], generator=generator,
                pixel_values=frames[None] if self.masking.requires_motion and mask_motion is None else None,
            )[0]
        return sample


def collate(samples: list[dict[str, Any] | None]) -> dict[str, torch.Tensor]:
    """Stacks samples into a batch, dropping the None of videos that failed to decode."""
    good = [s for s in samples if s is not None]
    if len(good) < len(samples):
        logger.info("Dropped %d failed video(s) from a batch of %d.", len(samples) - len(good), len(samples))
    if not good:
        raise RuntimeError(f"Every video of a batch of {len(samples)} failed to decode (see the warnings above).")
    batch: dict[str, torch.Tensor] = {}
    for key in good[0]:
        values = [s[key] for s in good]
        batch[key] = torch.stack(values) if torch.is_tensor(values[0]) else torch.as_tensor(values)
    return batch


class MultiViewDataset(Dataset):
    """Multi-view testing: ``ds[i]["pixel_values"]`` is ``(V, T, C, H, W)`` with
    ``V = num_temporal_views × len(spatial_transforms)`` (e.g. 2 × 3 on SSv2, 5 × 3 on K400).

    Temporal views come from :func:`mgm_hf.video.read_views` (evenly spaced dense clips, or TSN
    segment views with ``sampling="segments"``); each is cropped by every spatial transform.
    """

    def __init__(self, items: Sequence[VideoItem], *, num_frames: int, frame_stride: int,
                 num_temporal_views: int, spatial_transforms: Sequence[Callable], sampling: str = "dense") -> None:
        self.items = list(items)
        self.num_frames = num_frames
        self.frame_stride = frame_stride
        self.num_temporal_views = num_temporal_views
        self.spatial_transforms = list(spatial_transforms)
        self.sampling = sampling

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        from mgm_hf.video import read_views

        item = self.items[index]
        clips = read_views(item.path, num_frames=self.num_frames, frame_stride=self.frame_stride,
                           num_views=self.num_temporal_views, sampling=self.sampling, motion="none")
        views = [transform(clip.frames, None)[0] for clip in clips for transform in self.spatial_transforms]
        return {"pixel_values": torch.stack(views), "labels": item.label, "sample_index": index}

__all__ = ["MultiViewDataset", "VideoClipDataset", "VideoItem", "collate", "list_videos", "read_clip_at",
           "resolve_dataset"]
