"""``random``: MAE-ST's agnostic masking, every token masked independently of the others."""

from __future__ import annotations

import torch

from .base import MaskingStrategy
from .geometry import MaskGeometry
from .registry import register_masking_strategy


@register_masking_strategy("random")
class RandomMasking(MaskingStrategy):
    """Random masking (MAE-ST, Feichtenhofer et al. 2022; MGM Table 4e "random").

    Each row masks exactly ``int(mask_ratio * L)`` of its L tokens, chosen uniformly: the tokens
    with the smallest uniform noise are masked (argsort of noise, as in MAE), so there is no
    structure over space or time. Needs no motion.

    Args:
        geometry: the token geometry.
        mask_ratio: fraction of the L tokens masked, in (0, 1).
    """

    requires_motion = False

    def __init__(self, geometry: MaskGeometry, mask_ratio: float = 0.9) -> None:
        super().__init__(geometry, mask_ratio)

    def _generate(
        self,
        batch_size: int,
        motion: torch.Tensor | None,
        generator: torch.Generator | None,
        device: torch.device,
    ) -> torch.Tensor:
        length = self.geometry.seq_length
        noise = self.rand((batch_size, length), generator, device)  # (B, L)
        order = noise.argsort(dim=1)  # a uniform random permutation per row
        mask = torch.zeros((batch_size, length), dtype=torch.bool, device=device)
        return mask.scatter_(1, order[:, : self.num_masked], True)  # its first num_masked are masked
