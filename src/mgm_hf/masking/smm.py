"""``smm``: MGM's simulated-motion masking, a dense rectangle moving with random velocity."""

from __future__ import annotations

import math

import torch

from .base import MaskingStrategy
from .geometry import MaskGeometry
from .rectangles import allocate_counts, clamp_rectangles, rectangle_mask, zero_sum_walk
from .registry import register_masking_strategy

_VELOCITIES = ("constant", "per_step")
_COUNTS = ("frame", "clip")


def reflect(position: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Folds positions into [low, high] as a point bouncing off both walls (triangle wave)."""
    span = (high - low).clamp_min(1e-6)
    u = torch.remainder(position - low, 2 * span)
    return low + span - (u - span).abs()


@register_masking_strategy("smm")
class SimulatedMotionMasking(MaskingStrategy):
    """Simulated-motion masking (MGM, Fan et al. 2023, section 3.2, eq. 5; "SMM (Dense)", Table 4e).

    A dense rectangle of side ``w0 = h0 = sqrt(mask_ratio * h * w)`` tokens starts at a random
    top-left ``x0 ~ U(0, w - w0)``, ``y0 ~ U(0, h - h0)`` and moves by a random velocity each tubelet
    step; its side changes by a random ``s_t`` with ``sum_t s_t = 0`` (eq. 5). Needs no motion.

    Choices the paper leaves open (all options):

    * ``velocity="constant"``: one velocity per clip, ``v ~ U(-max_speed, max_speed)`` per axis, in
      tokens per tubelet step (Fig. 2 shows straight paths); ``"per_step"`` draws a new one each step
      (eq. 5 indexes v by t).
    * At the frame border the rectangle bounces (reflects), so it stays inside and keeps its speed.
    * Scale jitter and the count (eq. 5: ``w_t = w_{t-1} + s_t``, ``h_t = h_{t-1} + s_t``,
      ``sum_t s_t = 0`` "so that the number of masked patches remains fixed"). The same ``s_t`` on w
      and h keeps the rectangle square, so the jitter changes only its area. ``count="clip"``
      (default) keeps every clip's total at ``int(mask_ratio * L)`` and shares it between the time
      steps in proportion to the jittered areas (``rectangles.allocate_counts``): the per-step counts
      follow eq. 5's walk, scaled down uniformly only where a step would otherwise have no visible
      (or no masked) token: at ratio 0.9 the square already covers 90 % of the frame, so it has
      little room to grow.
      ``count="frame"`` masks exactly ``int(mask_ratio * h * w)`` tokens per time step, which fixes
      the area and leaves nothing for the jitter to change: it requires ``scale_jitter=0``.
    * The exact count comes from ranking tokens by normalised Chebyshev distance to the rectangle
      (see ``rectangles.py``): the mask is the rectangle, grown or shrunk to the exact count.

    Args:
        geometry: the token geometry.
        mask_ratio: fraction masked, in (0, 1).
        max_speed: largest speed per axis, tokens per tubelet step (>= 0).
        velocity: ``"constant"`` or ``"per_step"``.
        scale_jitter: largest ``|s_t|`` as a fraction of ``w0`` (0 disables).
        count: ``"clip"`` or ``"frame"`` (then ``scale_jitter`` must be 0).
    """

    requires_motion = False

    def __init__(
        self,
        geometry: MaskGeometry,
        mask_ratio: float = 0.9,
        max_speed: float = 1.0,
        velocity: str = "constant",
        scale_jitter: float = 0.1,
        count: str = "clip",
    ) -> None:
        super().__init__(geometry, mask_ratio)
        if velocity not in _VELOCITIES:
            raise ValueError(f"velocity must be one of {_VELOCITIES}, got {velocity!r}.")
        if count not in _COUNTS:
            raise ValueError(f"count must be one of {_COUNTS}, got {count!r}.")
        if not float(max_speed) >= 0:
            raise ValueError(f"max_speed must be >= 0 tokens per step, got {max_speed}.")
        if not 0 <= float(scale_jitter) < 1:
            raise ValueError(f"scale_jitter must lie in [0, 1) (a fraction of w0), got {scale_jitter}.")
        if count == "frame" and float(scale_jitter) > 0:
            raise ValueError(
                f"scale_jitter={scale_jitter} has no effect with count='frame': eq. 5's jitter changes only "
                "the square's area, which a fixed per-step count fixes. Use count='clip' (the clip total "
                "stays fixed, the per-step counts follow the jitter) or scale_jitter=0."
            )
        self.max_speed = float(max_speed)
        self.velocity = velocity
        self.scale_jitter = float(scale_jitter)
        self.count = count

    @property
    def counts_per_frame(self) -> bool:
        return self.count == "frame"

    def _generate(
        self,
        batch_size: int,
        motion: torch.Tensor | None,
        generator: torch.Generator | None,
        device: torch.device,
    ) -> torch.Tensor:
        steps, h, w = self.geometry.token_grid
        side = math.sqrt(self.mask_ratio * h * w)  # eq. 5: w0 = h0 = sqrt(gamma * H/h * W/w)
        extent = torch.tensor([w, h], dtype=torch.float32, device=device)
        size0 = torch.minimum(torch.full((2,), side, device=device), extent)  # (2,) = (w0, h0)
        # One draw per random quantity, in a fixed order (same seed, same mask on every device).
        start = self.rand((batch_size, 1, 2), generator, device)
        n_vel = 1 if self.velocity == "constant" else steps
        vel = (2 * self.rand((batch_size, n_vel, 2), generator, device) - 1) * self.max_speed
        jitter = (2 * self.rand((batch_size, steps, 1), generator, device) - 1) * self.scale_jitter * side
        tie_noise = self.rand((batch_size, steps, h, w), generator, device)

        sizes = size0 + zero_sum_walk(jitter).expand(batch_size, steps, 2)  # eq. 5: w_t = w_{t-1} + s_t
        centre0 = start * (extent - size0) + size0 / 2  # x0 ~ U(0, w - w0), as a centre
        moves = vel.expand(batch_size, steps, 2).clone()
        moves[:, 0] = 0
        centres = centre0 + torch.cumsum(moves, dim=1)  # eq. 5: x_t = x_{t-1} + v_t
        centres = reflect(centres, sizes / 2, extent - sizes / 2)
        areas = sizes.clamp_min(1e-3).prod(dim=-1)  # (B, T') eq. 5's areas, before the frame cuts them
        centres, sizes = clamp_rectangles(centres, sizes, (h, w))
        if self.count == "frame":
            return rectangle_mask(centres, sizes, (h, w), self.num_masked_per_frame, tie_noise)
        counts = allocate_counts(areas, self.num_masked, h * w)
        return rectangle_mask(centres, sizes, (h, w), counts, tie_noise)
