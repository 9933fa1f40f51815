"""Where a mask falls: how much of the motion the encoder still sees.

MGM's premise (MGM section 1, Fig. 2) is that masking the moving parts hides the information a
random or tube mask leaves visible. ``visible_motion_share`` measures it directly: the share of
the clip's motion energy on *visible* tokens. A mask placed without looking at motion has, in
expectation, the share of visible tokens ``1 - ρ`` (the chance level); a motion-guided mask should
sit well below it.
"""

from __future__ import annotations

import torch


def visible_motion_share(mask: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
    """Share of motion energy on visible tokens.

    Args:
        mask: (B, L) bool, True = masked.
        energy: (B, L) non-negative motion energy per token
            (:func:`~mgm_hf.mask_metrics.token_motion_energy`).

    Returns:
        (B,) float in [0, 1]; NaN for a clip without motion (no energy to share).
    """
    if mask.shape != energy.shape:
        raise ValueError(f"mask {tuple(mask.shape)} and energy {tuple(energy.shape)} must have the same shape.")
    energy = energy.double()
    total = energy.sum(-1)
    visible = (energy * (~mask.bool())).sum(-1)
    share = visible / total
    return torch.where(total > 0, share, torch.full_like(share, float("nan"))).float()


def visible_token_share(mask: torch.Tensor) -> torch.Tensor:
    """(B, L) bool mask -> (B,) share of visible tokens, ``1 - ρ`` (the chance level of the share above)."""
    return (~mask.bool()).float().mean(-1)


__all__ = ["visible_motion_share", "visible_token_share"]
