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

import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from mgm_hf.data.builtin_motion import BuiltinMotionSpec, builtin_motion_dataset

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
                 generator: torch.Generator | None, view: tuple[int, int] | None = None) -> Any:
    """Decodes one clip with :func:`mgm_hf.video.read_clip`: a random temporal start from
    ``generator``, or temporal view ``view = (index, count)`` (evenly spaced, for testing)."""
    from mgm_hf.video import read_clip

    params = inspect.signature(read_clip).parameters
    kwargs: dict[str, Any] = {"num_frames": num_frames, "frame_stride": frame_stride, "motion": motion}
    if view is not None:
        kwargs["temporal_view"] = view
    else:
        seed = int(torch.randint(0, 2**62, (1,), generator=generator).item())
        for name in ("rng", "generator", "seed"):
            if name in params:
                kwargs[name] = np.random.default_rng(seed) if name == "rng" else (
                    torch.Generator().manual_seed(seed) if name == "generator" else seed)
                break
    return read_clip(path, **kwargs)


class VideoClipDataset(Dataset):
    """``ds[i]`` -> ``{"pixel_values" (T, C, H, W), "labels", "sample_index"[, "motion"][, "bool_masked_pos"]}``.

    Args:
        items: the videos.
        transform: a joint transform ``(frames, motion, generator) -> (frames, motion)``.
        masking: a ``MaskingStrategy``; masks are made here, one per clip, when given.
        motion: what ``read_clip`` should return as motion (``"auto"``, ``"motion_vectors"``,
            ``"optical_flow"``, ``"none"``).
        view: a fixed temporal view ``(index, count)`` instead of a random start.
    """

    def __init__(self, items: Sequence[VideoItem], *, num_frames: int, frame_stride: int, motion: str,
                 transform: Callable, masking: Any = None, view: tuple[int, int] | None = None) -> None:
        self.items = list(items)
        self.num_frames = num_frames
        self.frame_stride = frame_stride
        self.motion = motion
        self.transform = transform
        self.masking = masking
        self.view = view

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.items[index]
        generator = torch.Generator().manual_seed(int(torch.randint(0, 2**62, (1,)).item()))
        clip = read_clip_at(item.path, self.num_frames, self.frame_stride, self.motion, generator, self.view)
        frames, motion = self.transform(clip.frames, clip.motion, generator)
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


def collate(samples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    """Stacks samples into a batch (every key present in the first sample)."""
    batch: dict[str, torch.Tensor] = {}
    for key in samples[0]:
        values = [s[key] for s in samples]
        batch[key] = torch.stack(values) if torch.is_tensor(values[0]) else torch.as_tensor(values)
    return batch


__all__ = ["VideoClipDataset", "VideoItem", "collate", "list_videos", "read_clip_at", "resolve_dataset"]
