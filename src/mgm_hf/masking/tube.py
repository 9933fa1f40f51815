"""``tube``: VideoMAE's tube masking, one spatial mask repeated over every tubelet."""

from __future__ import annotations

import torch

from .base import MaskingStrategy
from .geometry import MaskGeometry
from .registry import register_masking_strategy


@register_masking_strategy("tube")
class TubeMasking(MaskingStrategy):
    """Tube masking (VideoMAE, Tong et al. 2022, section 3.3; MGMAE section 3.1).

    One h × w spatial mask with exactly ``int(mask_ratio * h * w)`` masked patches is drawn per clip
    and repeated over the T' = T / tubelet time steps, so a row has ``T' * int(mask_ratio * h * w)``
    masked tokens (which may be a few fewer than ``int(mask_ratio * L)``). Needs no motion.

    Args:
        geometry: the token geometry.
        mask_ratio: fraction of the h × w patches masked, in (0, 1).
    """

    requires_motion = False

    def __init__(self, geometry: MaskGeometry, mask_ratio: float = 0.9) -> None:
        super().__init__(geometry, mask_ratio)

    @property
    def counts_per_frame(self) -> bool:
        return True

    def _generate(
        self,
        batch_size: int,
        motion: torch.Tensor | None,
        generator: torch.Generator | None,
        device: torch.device,
    ) -> torch.Tensor:
        steps, _, _ = self.geometry.token_grid
        per_frame = self.geometry.tokens_per_frame
        noise = self.rand((batch_size, per_frame), generator, device)  # (B, h*w)
        order = noise.argsort(dim=1)  # a uniform random permutation of the patches
        spatial = torch.zeros((batch_size, per_frame), dtype=torch.bool, device=device)
        spatial.scatter_(1, order[:, : self.num_masked_per_frame], True)  # (B, h*w)
        return spatial.repeat(1, steps)  # (B, T'*h*w): index t*(h*w) + y*w + x
