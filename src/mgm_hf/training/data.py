"""Loaders of the example scripts over the data package's datasets
(:func:`~mgm_hf.data.video_dataset` + :class:`~mgm_hf.data.VideoTransform` +
:class:`~mgm_hf.data.VideoCollator`): the seeded training loader and the multi-view test loader.

Exact resume: :func:`seeded_loader` draws ``(index, sample_seed)`` pairs from an
:class:`~mgm_hf.training.sampling.EpochSampler` and reads each row through a
:class:`~mgm_hf.training.sampling.SeededDataset`, which hands the seed to the transform as data; the
transform seeds the row's generator with it, so a clip and its mask (``VideoTransform(masking=...)``)
depend only on ``(seed, epoch, position)``.
"""

from __future__ import annotations

from typing import Any

import datasets
import torch
from torch.utils.data import DataLoader

from mgm_hf.data import VideoCollator, VideoTransform, eval_transforms
from mgm_hf.data.failures import FailureTracker

from .sampling import EpochSampler, SeededDataset


def seeded_loader(rows: datasets.Dataset, transform: VideoTransform, *, batch_size: int, seed: int,
                  repeats: int = 1, **loader_kwargs: Any) -> tuple[DataLoader, EpochSampler]:
    """A training DataLoader over ``rows`` (a :func:`~mgm_hf.data.video_dataset` without a transform)
    decoded by ``transform`` in the seeded order of an :class:`EpochSampler` (``repeats`` adjacent
    views per video), every row with its sample seed, batched by a :class:`~mgm_hf.data.VideoCollator`;
    and that sampler (call its ``set_epoch``). ``loader_kwargs`` go to the DataLoader
    (``num_workers``, ``drop_last``...)."""
    sampler = EpochSampler(len(rows), seed=seed, repeats=repeats)
    loader = DataLoader(SeededDataset(rows, transform), batch_size=batch_size, sampler=sampler,
                        collate_fn=VideoCollator(), generator=torch.Generator().manual_seed(seed), **loader_kwargs)
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


__all__ = ["eval_view_loader", "eval_view_transform", "seeded_loader"]
