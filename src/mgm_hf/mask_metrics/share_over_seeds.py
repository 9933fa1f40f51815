"""Mask metrics averaged over seeds, next to chance and to what position alone predicts.

One mask per clip is one draw: at ρ = 0.9 the visible share of a clip's motion has a seed-to-seed
spread comparable to the differences between strategies. Every figure here is therefore a mean over
``S`` seeded masks per clip, with its standard error, and comes with two reference levels:

* **chance** ``1 - ρ``: the share of visible tokens, what any mask placed without looking at the
  clip gets in expectation if it is also position-flat;
* **position only**: the share that a motion-ignoring mask with the strategy's own per-position
  visibility rate would get. With ``r_l`` = the fraction of (seed, clip) masks that leave position
  ``l`` visible, pooled over all clips with weight, and ``w_cl`` the clip's weight per token (e.g.
  motion energy), it is ``Σ_l r_l w_cl / Σ_l w_cl``: exactly the expected share of a mask drawn
  independently of the clip with visibility rates ``r``. A strategy whose masks favour the centre
  (say) sits above chance on clips whose motion is central without looking at their motion; only the
  share *below position only* is guidance by the clip's own motion.

Clips whose weight is zero everywhere (static clips, for motion energy) have no share and are left
out of every average; their number is reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from mgm_hf.masking import MaskingStrategy

from .mask_placement import visible_motion_share


@dataclass
class ShareOverSeeds:
    """Per-clip visible share of a token weight, over ``S`` seeded masks.

    Attributes:
        mean: (N,) per-clip mean over seeds; NaN for clips without weight.
        se: (N,) per-clip standard error of that mean over seeds (sample std / sqrt(S)); NaN likewise.
        position_only: (N,) the share a clip-independent mask with ``visible_rate`` would get; NaN likewise.
        visible_rate: (L,) fraction of (seed, clip) masks with the token visible, over clips with weight.
        chance: mean share of visible tokens, ``1 - ρ``.
        num_seeds: S.
        has_weight: (N,) bool, False for the clips left out.
    """

    mean: torch.Tensor
    se: torch.Tensor
    position_only: torch.Tensor
    visible_rate: torch.Tensor
    chance: float
    num_seeds: int
    has_weight: torch.Tensor

    def summary(self) -> dict[str, float | int]:
        """Averages over the clips with weight.

        ``share`` ± ``share_se`` (over clips: sample std of the per-clip means / sqrt(n), which holds
        both clip-to-clip and seed noise); ``share_seed_se``: the part of that uncertainty due to the
        masks alone (sqrt(Σ se_c²) / n); ``clip_seed_se``: the typical per-clip SE over seeds
        (mean of ``se``); ``position_only`` ± SE; ``guidance`` = share − position only per clip,
        mean ± SE (negative: the strategy hides the weight more than its position pattern explains).
        """
        n = int(self.has_weight.sum())
        if n == 0:
            raise ValueError("No clip has weight: every clip was left out (static), nothing to summarise.")
        mean = self.mean[self.has_weight].double()
        position = self.position_only[self.has_weight].double()
        guidance = mean - position
        return {
            "share": float(mean.mean()),
            "share_se": _se(mean),
            "share_seed_se": float(self.se[self.has_weight].double().square().sum().sqrt() / n),
            "clip_seed_se": float(self.se[self.has_weight].double().mean()),
            "position_only": float(position.mean()),
            "position_only_se": _se(position),
            "guidance": float(guidance.mean()),
            "guidance_se": _se(guidance),
            "chance": self.chance,
            "num_seeds": self.num_seeds,
            "num_clips": n,
            "num_left_out": int((~self.has_weight).sum()),
        }


def _se(values: torch.Tensor) -> float:
    """Standard error of the mean of a 1-D tensor (NaN for fewer than 2 values)."""
    if values.numel() < 2:
        return float("nan")
    return float(values.std(unbiased=True) / math.sqrt(values.numel()))


def masks_over_seeds(
    strategy: MaskingStrategy, num_clips: int, num_seeds: int, motion: torch.Tensor | None = None,
    first_seed: int = 0, batch_size: int = 64,
) -> torch.Tensor:
    """Masks of every clip under seeds ``first_seed .. first_seed + num_seeds - 1``.

    Args:
        strategy: any masking strategy.
        num_clips: N.
        num_seeds: S.
        motion: (N, T, h, w, 2) for strategies that need motion, else None.
        first_seed: seed of the first draw; seed s seeds one generator that runs through all clips
            in batches of ``batch_size``.

    Returns:
        (S, N, L) bool, True = masked.
    """
    if num_seeds < 1 or num_clips < 1:
        raise ValueError(f"need at least one seed and one clip, got {num_seeds} seeds, {num_clips} clips.")
    if motion is not None and motion.shape[0] != num_clips:
        raise ValueError(f"motion has {motion.shape[0]} clips, expected {num_clips}.")
    out = []
    for seed in range(first_seed, first_seed + num_seeds):
        generator = torch.Generator().manual_seed(seed)
        rows = []
        for i in range(0, num_clips, batch_size):
            count = min(batch_size, num_clips - i)
            rows.append(strategy(count, motion=None if motion is None else motion[i : i + count], generator=generator))
        out.append(torch.cat(rows))
    return torch.stack(out)


def share_over_seeds(masks: torch.Tensor, weight: torch.Tensor) -> ShareOverSeeds:
    """Seed-averaged visible share of ``weight`` (see the module docstring).

    Args:
        masks: (S, N, L) bool, True = masked, S >= 2 (a standard error needs two draws).
        weight: (N, L) non-negative weight per token (motion energy, object pixels, ...).

    Returns:
        :class:`ShareOverSeeds`.
    """
    if masks.dim() != 3 or masks.shape[1:] != weight.shape:
        raise ValueError(f"masks (S, N, L) and weight (N, L) disagree: {tuple(masks.shape)} vs {tuple(weight.shape)}.")
    if masks.shape[0] < 2:
        raise ValueError("share_over_seeds needs at least 2 seeds for a standard error.")
    if bool((weight < 0).any()):
        raise ValueError("weight must be non-negative.")
    masks = masks.bool()
    num_seeds = masks.shape[0]
    shares = torch.stack([visible_motion_share(m, weight) for m in masks]).double()  # (S, N), NaN without weight
    has_weight = weight.double().sum(-1) > 0
    mean = shares.mean(0)
    se = shares.std(0, unbiased=True) / math.sqrt(num_seeds)
    visible = (~masks[:, has_weight]).double()  # (S, N_w, L)
    if visible.shape[1] == 0:
        rate = torch.full((masks.shape[-1],), float("nan"), dtype=torch.float64)
    else:
        rate = visible.mean(dim=(0, 1))
    w = weight.double()
    position_only = (w * rate).sum(-1) / w.sum(-1)
    nan = torch.full_like(mean, float("nan"))
    return ShareOverSeeds(
        mean=torch.where(has_weight, mean, nan).float(),
        se=torch.where(has_weight, se, nan).float(),
        position_only=torch.where(has_weight, position_only, nan).float(),
        visible_rate=rate.float(),
        chance=float((~masks).double().mean()),
        num_seeds=num_seeds,
        has_weight=has_weight,
    )


__all__ = ["ShareOverSeeds", "masks_over_seeds", "share_over_seeds"]
