"""A model's masked-reconstruction loss on fixed clips under a given masking strategy."""

from __future__ import annotations

import torch

from mgm_hf.masking import MaskingStrategy


@torch.no_grad()
def pretraining_loss(
    model: torch.nn.Module, pixel_values: torch.Tensor, motion: torch.Tensor | None, strategy: MaskingStrategy,
    seed: int = 0, batch_size: int = 16,
) -> float:
    """Mean pretraining loss of ``model`` (an ``MGMVideoMAE``) on ``pixel_values`` with masks from
    ``strategy`` (seeded, so every model sees the same masks for the same strategy).

    Args:
        pixel_values: (N, T, C, H, W) normalised clips.
        motion: (N, T, h, w, 2) or None (strategies that need motion then fail).

    Returns:
        The clip-weighted mean loss.
    """
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    total, count = 0.0, 0
    for i in range(0, pixel_values.shape[0], batch_size):
        x = pixel_values[i : i + batch_size]
        m = None if motion is None else motion[i : i + batch_size]
        mask = strategy(x.shape[0], motion=m, generator=generator)
        loss = model(pixel_values=x, bool_masked_pos=mask).loss
        total += float(loss) * x.shape[0]
        count += x.shape[0]
    model.train(was_training)
    return total / max(count, 1)


__all__ = ["pretraining_loss"]
