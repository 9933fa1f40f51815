"""``mgm``: MGM's motion-guided masking, a dense rectangle centred on the strongest motion."""

from __future__ import annotations

import math

import torch

from .base import MaskingStrategy
from .geometry import MaskGeometry
from .motion_grid import cell_centres, pool_motion, tubelet_magnitude
from .rectangles import allocate_counts, clamp_rectangles, rectangle_mask, zero_sum_walk
from .registry import register_masking_strategy
from .smm import reflect

_NO_MOTION = ("keep_last", "smm", "center")
_REDUCE = ("mean", "max")
_COUNTS = ("frame", "clip")
_INITIAL_POSITIONS = ("random", "motion")


def fill_gaps(values: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each time step, the index of the last valid step (else the next one), vectorised.

    Args:
        values: (B, T', C) per-step values.
        valid: (B, T') bool.

    Returns:
        (filled (B, T', C), source index (B, T') long, any_valid (B,) bool): ``filled[t]`` is the
        value of the last valid step at or before t, or of the first valid step for leading gaps.
    """
    steps = valid.shape[1]
    t = torch.arange(steps, device=valid.device).expand_as(valid)
    last = torch.where(valid, t, torch.full_like(t, -1)).cummax(dim=1).values
    nxt = torch.where(valid, t, torch.full_like(t, steps)).flip(1).cummin(dim=1).values.flip(1)
    source = torch.where(last >= 0, last, nxt).clamp(0, steps - 1)
    filled = values.gather(1, source.unsqueeze(-1).expand_as(values))
    return filled, source, valid.any(dim=1)


@register_masking_strategy("mgm")
class MotionGuidedMasking(MaskingStrategy):
    """Motion-guided masking (MGM, Fan et al. 2023, section 3.3, eqs. 6–7; "MGM (Dense)").

    The rectangle, of side ``w0 = h0 = sqrt(mask_ratio * h * w)`` tokens, starts at a random place at
    t = 0 (``initial_position="random"``: "x_0 and y_0 are then randomly initialized in
    rand(0, H/h - h_0)", as SMM) and from t = 1 on is centred on the strongest motion (eq. 7,
    Pool_topK of the nearest-upsampled motion-vector map of eq. 6), with zero-sum jitter of w and h
    (eq. 7, Table 4c). ``initial_position="motion"`` centres step 0 on its motion too. Exactly
    ``int(mask_ratio * h * w)`` tokens are masked per time step (see ``rectangles.py`` for the
    exact-count rule).

    Motion: (B, T, h_m, w_m, 2) on any grid (8-px motion vectors, full-resolution flow, ...), or
    ``pixel_values`` with ``flow_method`` set (Table 4b compares optical flow, RAFT-small, with
    motion vectors as the motion source), or the hook ``strategy.flow_estimator = fn`` (see
    :meth:`MaskingStrategy.estimate_motion`, shared with ``mgmae``). Nearest upsampling (eq. 6) does
    not change which cells are strongest, so top-k runs on the grid as given and a cell's position is
    its centre (not the top-left pixel an argmax over the upsampled map would return). Choices the
    paper leaves open (all options):

    * ``motion_block``: motion finer than ``motion_block`` pixels (dense optical flow) is first
      area-averaged to blocks of that size (8 = H.264's motion-vector grid), as a motion-vector block
      summarises its pixels; motion already on blocks at least that large (the 8-px vector grid or
      coarser) is used exactly as given. Eq. 6 is written for block motion vectors; the paper does
      not say how its flow (Table 4b: RAFT-small, 66.0 vs 67.3 % with vectors) was reduced, and
      relates the drop to flow being per-pixel while the mask is block-wise. Averaging also makes full-resolution flow as cheap as
      the vector grid. 0 or None uses any grid as given (top-k over single pixels).

    * Per tubelet: the magnitude ``|(dx, dy)|`` of the tubelet's frames is averaged
      (``tubelet_reduce="mean"``) or maxed (``"max"``) per cell; ``motion[t]`` counts for frame t.
    * ``top_k``: the centre is the mean position of the cells at least as strong as the k-th
      strongest (k = 1 in the paper); exact ties (a rigid object, a nearest-upsampled block) thus
      give their middle rather than their first cell.
    * A time step has no motion when its strongest cell is <= ``motion_threshold`` pixels
      (I-frames, static shots, encoder noise). The default 0.5 px comes from H.264 vectors of
      64 × 64 clips (tubelet 2, per-step peak of the tubelet-mean magnitude on 8-px blocks): on the
      built-in dataset's static clips 2–17 % of the steps have a non-zero peak (quarter-pel noise)
      but at most 3.3 % exceed 0.5 px, and up to 17 % of the steps of static clips with per-frame
      sensor noise (sd 2–5 grey levels, x264) do; of the moving steps (0.6–1.4 px per frame) at most 3.7 %
      stay at or below 0.5 px at frame stride 1, none at stride 2. 0 treats every non-zero vector as
      motion. ``no_motion`` then decides the centre: ``"keep_last"`` holds the last centre (leading
      gaps take the first one; a clip with no motion at all keeps the random t0 rectangle);
      ``"smm"`` keeps moving from the last centre with a random velocity of up to ``max_speed``
      tokens per step (a motionless clip becomes a whole SMM path); ``"center"`` puts it in the
      middle of the frame.
    * The rectangle is kept inside the frame (as SMM's ``x0 in [0, w - w0]``).
    * ``size_jitter``: largest step of w and h as a fraction of w0 (0 disables it, Table 4c "no").
      With ``count="frame"`` (default) it changes the rectangle's aspect ratio at a fixed count;
      ``count="clip"`` fixes only the clip total ``int(mask_ratio * L)`` and shares it between the
      steps in proportion to the jittered areas (``rectangles.allocate_counts``).

    Args:
        geometry: the token geometry.
        mask_ratio: fraction masked, in (0, 1). (The paper's best for MGM was 0.75, Fig. 3a.)
        top_k: strongest cells averaged into the centre (>= 1).
        size_jitter: in [0, 1).
        no_motion: ``"keep_last"``, ``"smm"`` or ``"center"``.
        motion_threshold: pixels; strongest motion at or below it counts as none.
        tubelet_reduce: ``"mean"`` or ``"max"``.
        max_speed: tokens per step for ``no_motion="smm"``.
        count: ``"frame"`` or ``"clip"``.
        initial_position: ``"random"`` (eq. 7) or ``"motion"``.
        motion_block: pixels per side of the blocks finer motion is averaged to (0 / None: off).
        flow_method: optical-flow backend for ``pixel_values`` (``"dis"``, ``"raft"``, ...; see
            ``mgm_hf.video.flow.estimate_flow_batch``), or None.
    """

    requires_motion = True

    def __init__(
        self,
        geometry: MaskGeometry,
        mask_ratio: float = 0.9,
        top_k: int = 1,
        size_jitter: float = 0.1,
        no_motion: str = "keep_last",
        motion_threshold: float = 0.5,
        tubelet_reduce: str = "mean",
        max_speed: float = 1.0,
        count: str = "frame",
        initial_position: str = "random",
        motion_block: int | None = 8,
        flow_method: str | None = None,
    ) -> None:
        super().__init__(geometry, mask_ratio)
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be an integer >= 1, got {top_k!r}.")
        if not 0 <= float(size_jitter) < 1:
            raise ValueError(f"size_jitter must lie in [0, 1) (a fraction of w0), got {size_jitter}.")
        for name, value, allowed in (("no_motion", no_motion, _NO_MOTION),
                                     ("tubelet_reduce", tubelet_reduce, _REDUCE), ("count", count, _COUNTS),
                                     ("initial_position", initial_position, _INITIAL_POSITIONS)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}.")
        if not float(motion_threshold) >= 0 or not float(max_speed) >= 0:
            raise ValueError("motion_threshold and max_speed must be >= 0.")
        if motion_block is not None and (
            isinstance(motion_block, bool) or not isinstance(motion_block, int) or motion_block < 0
        ):
            raise ValueError(f"motion_block must be an integer >= 0 pixels or None, got {motion_block!r}.")
        self.top_k = top_k
        self.size_jitter = float(size_jitter)
        self.no_motion = no_motion
        self.motion_threshold = float(motion_threshold)
        self.tubelet_reduce = tubelet_reduce
        self.max_speed = float(max_speed)
        self.count = count
        self.initial_position = initial_position
        self.motion_block = motion_block
        self.flow_method = self.check_flow_method(flow_method)

    @property
    def counts_per_frame(self) -> bool:
        return self.count == "frame"

    def block_motion(self, motion: torch.Tensor) -> torch.Tensor:
        """(B, T, h_m, w_m, 2) -> (B, T, h_b, w_b, 2): each axis finer than ``motion_block`` pixels
        area-averaged to ``H // motion_block`` (``W // motion_block``) cells; the input itself when no
        axis is (``motion_block`` 0 / None, or motion already on blocks that large)."""
        if not self.motion_block:
            return motion
        height, width = self.geometry.image_size
        blocks = (max(1, height // self.motion_block), max(1, width // self.motion_block))
        return pool_motion(motion, blocks)

    def motion_centres(self, motion: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Eq. 7's ``Pool_topK``: (B, T, h_m, w_m, 2) -> centres (B, T', 2) in tokens, has_motion (B, T').

        Motion finer than ``motion_block`` is block-averaged first (:meth:`block_motion`). The centre
        is the mean position of every cell at least as strong as the k-th strongest, so exact ties (a
        rigidly moving object, nearest-upsampled blocks) give their middle, not their first cell, with
        no randomness.
        """
        g = self.geometry
        motion = self.block_motion(motion)
        magnitude = tubelet_magnitude(motion, g.tubelet_size, self.tubelet_reduce)  # (B, T', h_m, w_m)
        batch, steps, h_m, w_m = magnitude.shape
        flat = magnitude.reshape(batch, steps, h_m * w_m)
        peak = flat.amax(dim=-1)  # (B, T')
        k = min(self.top_k, h_m * w_m)
        threshold = peak if k == 1 else flat.topk(k, dim=-1).values[..., -1]
        chosen = (flat >= threshold.unsqueeze(-1)).to(flat.dtype)  # (B, T', h_m * w_m)
        positions = cell_centres((h_m, w_m), g.image_size, unit=g.patch_size).to(device).reshape(-1, 2)
        centres = (chosen @ positions) / chosen.sum(dim=-1, keepdim=True)  # (B, T', 2) (x, y) in tokens
        return centres, peak > self.motion_threshold

    def place_gaps(
        self,
        centres: torch.Tensor,
        has_motion: torch.Tensor,
        start: torch.Tensor,
        velocity: torch.Tensor,
        sizes: torch.Tensor,
        extent: torch.Tensor,
    ) -> torch.Tensor:
        """Centres (B, T', 2) with the time steps without motion placed per ``no_motion``.

        ``start`` (B, 1, 2) is the random t0 centre, ``velocity`` (B, 1, 2) the ``"smm"`` velocity,
        ``sizes`` (B, T', 2) the rectangle sizes, ``extent`` (2,) the grid (w, h).
        """
        if self.no_motion == "center":
            return torch.where(has_motion.unsqueeze(-1), centres, extent / 2)
        filled, source, any_motion = fill_gaps(centres, has_motion)
        static = ~any_motion.view(-1, 1, 1)  # clips without any motion
        if self.no_motion == "keep_last":
            return torch.where(static, start.expand_as(filled), filled)
        t = torch.arange(filled.shape[1], device=filled.device).view(1, -1, 1)
        moving = filled + velocity * (t - source.unsqueeze(-1))  # smm: go on from the nearest motion centre
        moving = torch.where(static, start + velocity * t, moving)
        return reflect(moving, sizes / 2, extent - sizes / 2)  # bounce off the border as SMM does

    def _generate(
        self,
        batch_size: int,
        motion: torch.Tensor | None,
        generator: torch.Generator | None,
        device: torch.device,
    ) -> torch.Tensor:
        steps, h, w = self.geometry.token_grid
        side = math.sqrt(self.mask_ratio * h * w)  # eq. 7: w0 = h0 = sqrt(gamma * H/h * W/w)
        extent = torch.tensor([w, h], dtype=torch.float32, device=device)
        size0 = torch.minimum(torch.full((2,), side, device=device), extent)  # (2,) = (w0, h0)
        centres, has_motion = self.motion_centres(motion, device)
        start = self.rand((batch_size, 1, 2), generator, device) * (extent - size0) + size0 / 2  # x0 ~ U(0, w - w0)
        velocity = (2 * self.rand((batch_size, 1, 2), generator, device) - 1) * self.max_speed
        jitter = (2 * self.rand((batch_size, steps, 2), generator, device) - 1) * self.size_jitter * side
        tie_noise = self.rand((batch_size, steps, h, w), generator, device)

        if self.initial_position == "random":  # eq. 7: t0 at random, the motion from t = 1 on
            centres = torch.cat([start, centres[:, 1:]], dim=1)
            has_motion = torch.cat([torch.ones_like(has_motion[:, :1]), has_motion[:, 1:]], dim=1)
        sizes = side + zero_sum_walk(jitter)  # eq. 7: w_t = w_{t-1} + s_xt, h_t = h_{t-1} + s_yt
        areas = sizes.clamp_min(1e-3).prod(dim=-1)  # (B, T'), before the frame cuts them
        filled = self.place_gaps(centres, has_motion, start, velocity, sizes, extent)
        centres, sizes = clamp_rectangles(filled, sizes, (h, w))
        if self.count == "frame":
            return rectangle_mask(centres, sizes, (h, w), self.num_masked_per_frame, tie_noise)
        counts = allocate_counts(areas, self.num_masked, h * w)
        return rectangle_mask(centres, sizes, (h, w), counts, tie_noise)
