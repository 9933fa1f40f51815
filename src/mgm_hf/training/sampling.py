"""Deterministic data order and per-sample randomness: what makes a resumed run bit-exact.

:class:`EpochSampler` yields ``(index, sample_seed)`` pairs. The order of an epoch is a permutation
seeded by ``(seed, epoch)`` and each yielded sample carries its own seed derived from
``(seed, epoch, position)``. :class:`SeededDataset` hands that seed to the transform as data (a
``sample_seed`` column), and :class:`~mgm_hf.data.VideoTransform` draws every random number of the
row (temporal start, crops, flips, masks) from a generator seeded with it; no global RNG is seeded,
read or restored. So a sample's pixels and mask depend only on ``(seed, epoch, position)``: not on the
number of DataLoader workers, not on how many processes share the epoch, and not on whether the run
was resumed — a resumed run just skips the first batches of the epoch.

Repeated augmentation (``repeats=k``, DeiT's RASampler / VideoMAE's ``num_sample``) puts each video
``k`` times next to each other in the order, each time with a different seed, so one batch holds
``k`` differently augmented and masked views of the same video.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler


def sample_seed(seed: int, epoch: int, position: int) -> int:
    """A 63-bit seed for the sample at ``position`` of ``epoch``."""
    state = np.random.SeedSequence([seed, epoch, position]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)


class EpochSampler(Sampler[tuple[int, int]]):
    """Seeded order of ``num_samples`` items, each repeated ``repeats`` times, with per-sample seeds.

    Every process must build it with the same arguments: Accelerate then shards the batches it makes.
    """

    def __init__(self, num_samples: int, seed: int = 0, repeats: int = 1, shuffle: bool = True) -> None:
        if num_samples <= 0:
            raise ValueError(f"EpochSampler needs at least one sample, got {num_samples}.")
        if repeats < 1:
            raise ValueError(f"repeats must be >= 1, got {repeats}.")
        self.num_samples = num_samples
        self.seed = seed
        self.repeats = repeats
        self.shuffle = shuffle
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.num_samples * self.repeats

    def order(self) -> list[int]:
        """Dataset indices of this epoch, in order (with repeats)."""
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            base = torch.randperm(self.num_samples, generator=g).tolist()
        else:
            base = list(range(self.num_samples))
        return [i for i in base for _ in range(self.repeats)]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for position, index in enumerate(self.order()):
            yield index, sample_seed(self.seed, self.epoch, position)


class SeededDataset(Dataset):
    """``ds[(index, sample_seed)]``: row ``index`` of ``rows`` through ``transform``, with the seed as data.

    ``rows`` is map-style and gives raw rows (dicts of columns, e.g. a ``datasets.Dataset`` of
    ``path``/``label``/``sample_index`` without a transform); ``transform`` is a batch transform such
    as :class:`~mgm_hf.data.VideoTransform`. The row goes to ``transform`` as a batch of one with an
    added ``sample_seed`` column, and the transformed row comes back. The keys are what
    :class:`EpochSampler` yields.
    """

    def __init__(self, rows: Any, transform: Callable[[dict[str, list[Any]]], dict[str, list[Any]]]) -> None:
        row_format = getattr(rows, "format", None)
        if isinstance(row_format, dict) and row_format.get("type") is not None:
            raise ValueError(
                f"SeededDataset applies the transform itself, with each row's sample seed; give it the "
                f"rows without a format or transform (this dataset has format {row_format['type']!r})."
            )
        self.rows = rows
        self.transform = transform

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, Any]:
        if not (isinstance(key, tuple) and len(key) == 2):
            raise TypeError(f"SeededDataset takes (index, sample_seed) keys, as EpochSampler yields; got {key!r}.")
        index, seed = key
        batch = {column: [value] for column, value in self.rows[index].items()}
        batch["sample_seed"] = [int(seed)]
        return {column: values[0] for column, values in self.transform(batch).items()}


__all__ = ["EpochSampler", "SeededDataset", "sample_seed"]
