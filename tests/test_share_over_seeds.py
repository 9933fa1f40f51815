"""Seed-averaged mask metrics (mgm_hf.mask_metrics.share_over_seeds) on cases with known answers."""

from __future__ import annotations

import math

import pytest
import torch

from mgm_hf.mask_metrics import masks_over_seeds, share_over_seeds
from mgm_hf.masking import build_masking_strategy

L = 16  # tokens per clip in the hand-made cases
VISIBLE = 4


def oracle_masks(weight: torch.Tensor, num_seeds: int) -> torch.Tensor:
    """(S, N, L): every token with weight hidden, and random other tokens, to VISIBLE visible per row."""
    out = torch.zeros(num_seeds, *weight.shape, dtype=torch.bool)
    for s in range(num_seeds):
        g = torch.Generator().manual_seed(s)
        for c in range(weight.shape[0]):
            free = torch.nonzero(weight[c] == 0).flatten()
            keep = free[torch.randperm(free.numel(), generator=g)[:VISIBLE]]
            out[s, c] = True
            out[s, c, keep] = False
    return out


def two_clips() -> torch.Tensor:
    """Clip 0 moves on tokens 0, 1; clip 1 on tokens 8, 9 (equal energy)."""
    weight = torch.zeros(2, L)
    weight[0, [0, 1]] = 3.0
    weight[1, [8, 9]] = 3.0
    return weight


def test_mask_hiding_exactly_the_motion_has_share_zero_under_every_seed() -> None:
    weight = two_clips()
    masks = oracle_masks(weight, num_seeds=20)
    assert len({m.numpy().tobytes() for m in masks}) > 1  # the masks do vary with the seed
    result = share_over_seeds(masks, weight)
    assert torch.equal(result.mean, torch.zeros(2)) and torch.equal(result.se, torch.zeros(2))
    # Position alone: token 0 is visible only in clip 1's masks, there with probability 4/14.
    rate_0 = (0.0 + VISIBLE / (L - 2)) / 2
    assert result.position_only.tolist() == pytest.approx([rate_0, rate_0], abs=0.05)
    summary = result.summary()
    assert summary["share"] == 0.0 and summary["guidance"] == pytest.approx(-summary["position_only"])
    assert summary["chance"] == pytest.approx(VISIBLE / L)


def test_seed_average_converges_like_one_over_root_n() -> None:
    """Position-flat random masks: the seed mean tends to chance, its SE shrinks as 1/sqrt(S)."""
    strategy = build_masking_strategy({"name": "random", "mask_ratio": 0.75}, num_frames=4, image_size=32,
                                      patch_size=8, tubelet_size=2)
    weight = torch.rand(12, strategy.geometry.seq_length, generator=torch.Generator().manual_seed(99_999)) ** 4  # not a mask seed
    few = share_over_seeds(masks_over_seeds(strategy, 12, num_seeds=16), weight)
    many = share_over_seeds(masks_over_seeds(strategy, 12, num_seeds=256, first_seed=1000), weight)
    ratio = float(few.se.mean() / many.se.mean())
    assert 3.0 < ratio < 5.3, ratio  # sqrt(256 / 16) = 4
    chance = 1 - strategy.num_masked / strategy.geometry.seq_length
    assert many.chance == pytest.approx(chance)
    assert (many.mean - chance).abs().max() < 4 * many.se.max()
    assert (few.mean - chance).abs().mean() > (many.mean - chance).abs().mean()
    # A flat rate predicts chance from position alone, within the rate's sampling error.
    assert many.position_only.sub(chance).abs().max() < 0.02


def test_position_only_equals_the_share_of_a_fixed_mask() -> None:
    weight = torch.rand(3, L, generator=torch.Generator().manual_seed(1))
    mask = torch.ones(L, dtype=torch.bool)
    mask[[2, 5, 11, 12]] = False
    masks = mask.expand(5, 3, L).clone()  # the same mask for every clip and seed
    result = share_over_seeds(masks, weight)
    expected = weight[:, [2, 5, 11, 12]].sum(-1) / weight.sum(-1)
    assert torch.allclose(result.mean, expected) and torch.allclose(result.position_only, expected)
    assert result.summary()["guidance"] == pytest.approx(0.0, abs=1e-7)


def test_static_clips_are_left_out_and_counted() -> None:
    weight = two_clips()
    weight = torch.cat([weight, torch.zeros(1, L)])  # a static clip
    masks = oracle_masks(weight[:2], num_seeds=4)
    masks = torch.cat([masks, masks[:, :1]], dim=1)
    masks[:, 2, :VISIBLE] = False  # whatever the static clip's mask is, it must not count
    result = share_over_seeds(masks, weight)
    assert result.has_weight.tolist() == [True, True, False]
    assert math.isnan(result.mean[2]) and math.isnan(result.position_only[2])
    summary = result.summary()
    assert summary["num_clips"] == 2 and summary["num_left_out"] == 1 and summary["share"] == 0.0


def test_bad_input_raises() -> None:
    weight = two_clips()
    with pytest.raises(ValueError, match="at least 2 seeds"):
        share_over_seeds(oracle_masks(weight, 1), weight)
    with pytest.raises(ValueError, match="disagree"):
        share_over_seeds(oracle_masks(weight, 3)[:, :1], weight)
    with pytest.raises(ValueError, match="nothing to summarise"):
        share_over_seeds(oracle_masks(weight, 3), torch.zeros(2, L)).summary()
