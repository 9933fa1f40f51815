"""Data of the example scripts: thin use of the data package's pipeline
(:func:`~mgm_hf.data.load_video_dataset` + :class:`~mgm_hf.data.VideoTransform` +
:class:`~mgm_hf.data.VideoCollator`).

Resolution of ``--dataset_name``/``--dataset_root``: nothing given means the built-in motion
dataset (generated once, see :mod:`mgm_hf.data.builtin_motion`) read as a ``videofolder``.

Exact resume: :func:`seeded_loader` draws ``(index, sample_seed)`` pairs from an
:class:`~mgm_hf.training.sampling.EpochSampler` and reads each row through a
:class:`~mgm_hf.training.sampling.SeededDataset`, which seeds torch's global RNG per sample; the
transform seeds each row's generator from it, so a clip and its mask (``VideoTransform(masking=...)``)
depend only on ``(seed, epoch, position)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import datasets
import torch
from torch.utils.data import DataLoader

from mgm_hf.data import VideoCollator, VideoTransform, eval_transforms, load_video_dataset
from mgm_hf.data.builtin_motion import BuiltinMotionSpec, builtin_motion_dataset
from mgm_hf.data.failures import FailureTracker

from .sampling import EpochSampler, SeededDataset


def resolve_dataset(name: str | None, root: str | None, spec: BuiltinMotionSpec) -> tuple[str, str]:
    """``(name, root)``; the built-in dataset when ``name`` is None or ``"builtin"``."""
    if name in (None, "builtin"):
        if root is not None:
            raise ValueError("--dataset_root needs --dataset_name (e.g. videofolder).")
        return "videofolder", str(builtin_motion_dataset(spec))
    if root is None:
        raise ValueError(f"--dataset_name {name} needs --dataset_root.")
    return name, root


@dataclass(frozen=True)
class VideoItem:
    path: str
    label: int


def list_videos(name: str, root: str, split: str) -> tuple[list[VideoItem], list[str]]:
    """The files and integer labels of one split, plus the class names (index = label)."""
    ds = _load_split(name, root, split)
    return [VideoItem(str(p), int(lbl)) for p, lbl in zip(ds["path"], ds["label"])], class_names(ds)


def _load_split(name: str, root: str, split: str) -> datasets.Dataset:
    ds = load_video_dataset(name, root, split)
    if len(ds) == 0:
        raise FileNotFoundError(f"Dataset {name!r} at {root} has no videos in split {split!r}.")
    return ds


def video_dataset(name: str, root: str, split: str, transform: VideoTransform | None) -> datasets.Dataset:
    """One split decoded on the fly by ``transform`` (None: raw ``path``/``label`` rows until
    ``set_transform``), with a ``sample_index`` column (the row number), which the transform and
    :class:`~mgm_hf.data.VideoCollator` carry into the batch."""
    ds = _load_split(name, root, split)
    ds = ds.add_column("sample_index", list(range(len(ds))))
    if transform is not None:
        ds.set_transform(transform)
    return ds


def class_names(ds: datasets.Dataset) -> list[str]:
    """The class names of a :func:`video_dataset` (index = label)."""
    feature = ds.features.get("label")
    if feature is not None and hasattr(feature, "names"):
        return list(feature.names)
    return [str(i) for i in range(max(ds.with_format(None)["label"]) + 1)]


def seeded_loader(dataset: datasets.Dataset, collator: VideoCollator, *, batch_size: int, seed: int,
                  repeats: int = 1, **loader_kwargs: Any) -> tuple[DataLoader, EpochSampler]:
    """A training DataLoader over ``dataset`` in the seeded order of an :class:`EpochSampler`
    (``repeats`` adjacent views per video) with per-sample seeds, and that sampler (call its
    ``set_epoch``). ``loader_kwargs`` go to the DataLoader (``num_workers``, ``drop_last``...)."""
    sampler = EpochSampler(len(dataset), seed=seed, repeats=repeats)
    loader = DataLoader(SeededDataset(dataset), batch_size=batch_size, sampler=sampler, collate_fn=collator,
                        generator=torch.Generator().manual_seed(seed), **loader_kwargs)
    return loader, sampler


def eval_view_transform(size: int, num_frames: int, frame_stride: int, *, num_temporal_views: int = 1,
                        num_crops: int = 1, sampling: str = "dense", short_side: int | None = None,
                        max_failure_rate: float = FailureTracker.max_failure_rate) -> VideoTransform:
    """Multi-view testing without randomness: rows of ``pixel_values`` (V, T, C, H, W) with
    ``V = num_temporal_views × num_crops`` (evenly spaced clips or TSN segment views, each cropped
    ``num_crops`` times). Up to ``max_failure_rate`` of the videos may fail to decode (skipped)."""
    crops = eval_transforms(size, num_crops=num_crops, short_side=short_side, motion_cell=min(8, size // 4))
    return VideoTransform(crops, num_frames=num_frames, frame_stride=frame_stride, sampling=sampling,
                          motion="none", num_temporal_views=num_temporal_views, test_views=True,
                          max_failure_rate=max_failure_rate)


def eval_view_loader(dataset: datasets.Dataset, *, batch_size: int, num_workers: int = 0) -> DataLoader:
    """Batches of ``pixel_values`` (B, V, T, C, H, W) and ``labels`` (B, V) of a test-view dataset."""
    return DataLoader(dataset, batch_size=batch_size, collate_fn=VideoCollator(flatten_views=False),
                      num_workers=num_workers)


__all__ = [
    "VideoItem",
    "class_names",
    "eval_view_loader",
    "eval_view_transform",
    "list_videos",
    "resolve_dataset",
    "seeded_loader",
    "video_dataset",
]
