"""Deterministic data order and per-sample randomness: what makes a resumed run bit-exact.

:class:`EpochSampler` yields ``(index, sample_seed)`` pairs. The order of an epoch is a permutation
seeded by ``(seed, epoch)`` and each yielded sample carries its own seed derived from
``(seed, epoch, position)``. :class:`SeededDataset` runs the wrapped dataset's ``__getitem__`` (its
random crops, flips, masks...) under RNGs seeded with that sample seed. So a sample's pixels and mask
depend only on ``(seed, epoch, position)``: not on the number of DataLoader workers, not on how many
processes share the epoch, and not on whether the run was resumed — a resumed run just skips the
first batches of the epoch.

Repeated augmentation (``repeats=k``, DeiT's RASampler / VideoMAE's ``num_sample``) puts each video
``k`` times next to each other in the order, each time with a different seed, so one batch holds
``k`` differently augmented and masked views of the same video.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def seeded_rngs(seed: int) -> Iterator[None]:
    """Seeds Python's, NumPy's and torch's global CPU RNGs for the block, then restores them."""
    py_state, np_state, torch_state = random.getstate(), np.random.get_state(), torch.get_rng_state()
    random.seed(seed)
    np.random.seed(seed % (1 << 32))
    torch.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        torch.set_rng_state(torch_state)


class SeededDataset(Dataset):
    """Wraps a map-style dataset so that ``ds[(index, seed)]`` runs ``base[index]`` under
    :func:`seeded_rngs` (``seed``). A plain ``ds[index]`` is passed through unchanged. Transforms
    that draw from the global RNGs (or from generators created from them) become deterministic.
    """

    def __init__(self, base: Any) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, key: int | tuple[int, int]) -> Any:
        if isinstance(key, tuple):
            index, seed = key
            with seeded_rngs(seed):
                return self.base[index]
        return self.base[key]


__all__ = ["EpochSampler", "SeededDataset", "sample_seed", "seeded_rngs"]
