"""``mgmae``: MGMAE's motion-guided masking, a visibility map warped along the flow."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .base import MaskingStrategy
from .geometry import MaskGeometry
from .initial_maps import gaussian_mixture_map, pick_visible_tokens, pixel_random_map, token_random_map
from .motion_grid import resample_motion
from .registry import register_masking_strategy
from .warping import backward_warp, forward_warp, invert_flow

EPS = 1e-8  # MGMAE section 4.2: zeros of the initial map become 1e-8, so exact zeros mark holes.
_BASE_FRAMES = ("first", "middle", "random")
_INITIAL_MAPS = ("token_random", "pixel_random", "gaussian_mixture")
_WARPS = ("backward", "forward")
_HOLE_FILLS = ("invisible", "visible", "random", "previous", "tube")
_TOP_K = ("frame", "clip")
_COMBINE = ("max", "sum")
_VISIBLE_COUNTS = ("floor_visible", "floor_masked")


@register_masking_strategy("mgmae")
class MGMAEMasking(MaskingStrategy):
    """Motion-guided masking of MGMAE (Huang et al. 2023, sections 3.2–3.3, Table 1, section 4.2).

    Steps, per clip (all batched, a loop only over the T frames for the sequential warping):

    1. Base frame b (``base_frame``, Table 1a): ``"first"`` (0), ``"middle"`` (T // 2, default) or
       ``"random"`` (per clip).
    2. Initial visibility map M_b (``initial_map``, Table 1d): ``"token_random"``, ``"pixel_random"``
       or ``"gaussian_mixture"`` (default): Gaussian bumps on ``h w - int(ratio h w)`` random token
       centres (as the official code draws them), mixed by ``gaussian_combine``, scaled to max 1;
       zeros become 1e-8. ``"max"`` (default) is the official code
       (``MixGaussianInitialMaskingGenerator``, kernel ``exp(-d^2 / p^2)``, std ``p / sqrt(2)``): the
       base frame keeps exactly drawn tokens, every token is equally likely to be visible. ``"sum"``
       is the formula of section 3.2, ``P = sum_i N_i(c_i, sigma^2)`` with sigma = the patch size,
       which the official code does not use by default: overlapping bumps add up, and interior
       tokens become 2–4× more likely to be visible than border ones (see
       :func:`~mgm_hf.masking.initial_maps.gaussian_mixture_map`). ``gaussian_sigma`` sets the std
       in pixels (None: ``p / sqrt(2)`` for ``"max"``, ``p`` for ``"sum"``).
    3. Warp M_b to every other frame, one frame at a time away from b (eq. 2), ``warp`` (Table 1b):
       ``"backward"`` (default, bilinear sampling) or ``"forward"`` (average splatting).
    4. Fill holes (exact zeros: content from outside the frame), ``hole_fill`` (Table 1e):
       ``"invisible"`` (0, stored as 1e-8 so it is not re-detected), ``"visible"`` (1), ``"random"``
       (1 with probability 1 - ratio, else 0, per cell), ``"previous"`` (the map warped from, same
       position) or ``"tube"`` (M_b at the same position, default).
    5. Average-pool tubelet × patch × patch (3.3) to a (T', h, w) token map (:meth:`token_scores`),
       optionally with exposure noise on one random time step (section 4.2, "Exposure"; off in the
       official scripts). ``exposure_std`` is the noise's std in the official code's units: it adds
       N(0, 1) to each token's *sum* of the map over its tubelet × p × p pixels (2 × 16 × 16 = 512),
       so ``exposure_std=1`` is the official noise, ``1 / (tubelet p^2)`` (1/512, about 0.002) in
       our mean-pooled units (``exposure_scale``). 0 (default) = off.
    6. Keep the top ``num_visible_per_frame`` tokens visible per time step (``top_k="frame"``,
       default) or the top ``T'`` times that over the clip (``"clip"``, Table 1c). Ties are broken by
       tiny generator noise, the same per position at every time step. ``visible_count``:
       ``"floor_visible"`` (default) keeps ``floor((1 - ratio) h w)`` (the paper's N_v and the
       official top-k: 19 of 196 at ratio 0.9, one of the 20 drawn tokens is dropped);
       ``"floor_masked"`` keeps ``h w - floor(ratio h w)`` (20, the rule of ``tube``). Either way
       every time step, hence every row, has the same count.

    **Flow directions.** ``motion[t]`` is anchored at frame t: the content at q of frame t was at
    ``q - motion[t](q)`` in frame t-1. Eq. 2 needs, after b, ``v_{t->t-1} = -motion[t]`` (direct)
    and, before b, ``v_{t->t+1}``, anchored at frame t: the flow from frame t to frame t+1, which
    the paper estimates directly ("forward and backward from the base frame"). That is
    ``-reverse_motion[t]`` (see :meth:`MaskingStrategy.__call__`): estimated directly when motion
    comes from ``pixel_values`` (``flow_method`` or ``flow_estimator``, run a second time on the
    frames the warps need, :meth:`reverse_motion_frames`, played backwards: for the middle base
    frame about half a clip more flow), or passed by the caller. Without it (motion given alone,
    e.g. decoded motion vectors or precomputed flow) it is approximated by inverting
    ``motion[t+1]``, ``v(p) = motion[t+1](p + v(p))``, with ``inverse_flow_iters`` fixed-point
    steps: exact for translations, close for smooth motion, but on the trailing strip of a moving
    object (background at t+1, the object at t) it returns the background's motion, so the map
    there stays put instead of following the object. Forward warping reads the same two flows the
    other way round (``-reverse_motion[t-1]`` after b, ``-motion[t+1]`` before b). (The official
    code uses the wrong direction before b; tests prove both halves here.)

    **Resolution.** The paper warps pixel maps; ``map_stride`` (a divisor of the patch size) warps
    maps of ``map_stride``-pixel cells instead. Motion on any grid is resampled to the map grid
    (nearest up, block average down). Default 4 (56 × 56 cells at 224 px): the 16 × 16 pooling
    hides sub-cell detail, 97 % of the visible tokens match ``map_stride=1`` on smooth random
    motion (91 % at 8), and it is over 16× cheaper; use 1 for the paper's pixel maps.

    **Motion.** Pass ``motion`` (B, T, h_m, w_m, 2), or ``pixel_values`` with ``flow_method`` set
    (``mgm_hf.video.flow.estimate_flow_batch``: ``"dis"``, ``"dis:medium"``, ``"farneback"``,
    ``"raft"``, ...), or set the hook ``strategy.flow_estimator = fn`` with
    ``fn(pixel_values (B, T, C, H, W)) -> (B, T, H, W, 2)`` in the motion convention (it wins over
    ``flow_method`` and is not saved by ``to_dict``).
    """

    requires_motion = True
    uses_reverse_motion = True

    def __init__(
        self,
        geometry: MaskGeometry,
        mask_ratio: float = 0.9,
        base_frame: str = "middle",
        initial_map: str = "gaussian_mixture",
        gaussian_sigma: float | None = None,
        gaussian_combine: str = "max",
        warp: str = "backward",
        hole_fill: str = "tube",
        top_k: str = "frame",
        visible_count: str = "floor_visible",
        exposure_std: float = 0.0,
        map_stride: int = 4,
        inverse_flow_iters: int = 2,
        flow_method: str | None = None,
    ) -> None:
        super().__init__(geometry, mask_ratio)
        for name, value, allowed in (
            ("base_frame", base_frame, _BASE_FRAMES), ("initial_map", initial_map, _INITIAL_MAPS),
            ("gaussian_combine", gaussian_combine, _COMBINE), ("warp", warp, _WARPS),
            ("hole_fill", hole_fill, _HOLE_FILLS), ("top_k", top_k, _TOP_K),
            ("visible_count", visible_count, _VISIBLE_COUNTS),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}.")
        if gaussian_sigma is not None and not float(gaussian_sigma) > 0:
            raise ValueError(f"gaussian_sigma must be > 0 pixels or None (= patch size), got {gaussian_sigma}.")
        if not float(exposure_std) >= 0:
            raise ValueError(
                f"exposure_std must be >= 0 (0 disables exposure noise, 1 is the official N(0, 1)), got {exposure_std}."
            )
        if isinstance(map_stride, bool) or not isinstance(map_stride, int) or map_stride < 1 \
                or geometry.patch_size % map_stride:
            raise ValueError(
                f"map_stride must be a positive divisor of patch_size {geometry.patch_size}, got {map_stride!r}."
            )
        if isinstance(inverse_flow_iters, bool) or not isinstance(inverse_flow_iters, int) or inverse_flow_iters < 0:
            raise ValueError(f"inverse_flow_iters must be an integer >= 0, got {inverse_flow_iters!r}.")
        self.visible_count = visible_count
        if self.num_visible_per_frame < 1:
            raise ValueError(
                f"mask_ratio {mask_ratio} leaves no visible token per frame of {geometry.tokens_per_frame} "
                f"with visible_count={visible_count!r}; lower it."
            )
        self.base_frame = base_frame
        self.initial_map = initial_map
        self.gaussian_sigma = None if gaussian_sigma is None else float(gaussian_sigma)
        self.gaussian_combine = gaussian_combine
        self.warp = warp
        self.hole_fill = hole_fill
        self.top_k = top_k
        self.exposure_std = float(exposure_std)
        self.map_stride = map_stride
        self.inverse_flow_iters = inverse_flow_iters
        self.flow_method = self.check_flow_method(flow_method)

    @property
    def counts_per_frame(self) -> bool:
        return True

    @property
    def num_visible_per_frame(self) -> int:
        """Visible tokens per time step: ``floor((1 - ratio) h w)`` or ``h w - floor(ratio h w)``."""
        tokens = self.geometry.tokens_per_frame
        if self.visible_count == "floor_visible":
            return self.masked_count(1.0 - self.mask_ratio, tokens)
        return tokens - self.masked_count(self.mask_ratio, tokens)

    @property
    def num_masked_per_frame(self) -> int:
        return self.geometry.tokens_per_frame - self.num_visible_per_frame

    @property
    def exposure_scale(self) -> float:
        """Std of the exposure noise on a token's *mean* visibility: ``exposure_std`` (official units,
        a token's sum over tubelet × patch × patch pixels) divided by that pixel count."""
        g = self.geometry
        return self.exposure_std / (g.tubelet_size * g.patch_size**2)

    def reverse_motion_frames(self) -> tuple[int, int]:
        """Frames whose flow towards the next frame the warps read: up to the last possible base
        frame (backward warping) or from the first one on (forward warping)."""
        frames = self.geometry.num_frames
        if self.base_frame == "random":
            return 0, frames
        base = 0 if self.base_frame == "first" else frames // 2
        return (0, base + 1) if self.warp == "backward" else (base, frames)

    # ----------------------------------------------------------------------------------- volume
    def base_indices(self, batch_size: int, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
        """Step 1: (B,) long base frame per clip."""
        frames = self.geometry.num_frames
        if self.base_frame == "random":
            draw = self.rand((batch_size,), generator, device)
            return (draw * frames).long().clamp_max(frames - 1)
        index = 0 if self.base_frame == "first" else frames // 2
        return torch.full((batch_size,), index, dtype=torch.long, device=device)

    def initial_maps(self, batch_size: int, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
        """Step 2: (B, H_m, W_m) initial map of the base frame, values in [1e-8, 1]."""
        g = self.geometry
        _, h, w = g.token_grid
        stride = self.map_stride
        if self.initial_map == "pixel_random":
            noise = self.rand((batch_size, g.image_size[0] // stride, g.image_size[1] // stride), generator, device)
            return pixel_random_map(noise, self.mask_ratio).clamp_min(EPS)
        drawn = g.tokens_per_frame - self.masked_count(self.mask_ratio, g.tokens_per_frame)  # as the official code
        visible = pick_visible_tokens(self.rand((batch_size, h, w), generator, device), drawn)
        if self.initial_map == "token_random":
            return token_random_map(visible, g.patch_size // stride).clamp_min(EPS)
        sigma = self.gaussian_sigma
        if sigma is None:  # official kernel exp(-d^2 / p^2) for "max", the paper's sigma = p for "sum"
            sigma = g.patch_size / math.sqrt(2.0) if self.gaussian_combine == "max" else float(g.patch_size)
        return gaussian_mixture_map(visible, g.patch_size, stride, sigma, self.gaussian_combine).clamp_min(EPS)

    def motion_cells(self, motion: torch.Tensor) -> torch.Tensor:
        """Motion (B, T, h_m, w_m, 2) in pixels -> (B, T, H_m, W_m, 2) in map cells (H_m = H / map_stride).

        One resampling to the map grid first (nearest up; down, one block-average pass that also
        divides by ``map_stride``; see :func:`resample_motion`), so finer motion costs one read.
        """
        g = self.geometry
        size = (g.image_size[0] // self.map_stride, g.image_size[1] // self.map_stride)
        return resample_motion(motion, size, divisor=self.map_stride)

    def inverse_flows(
        self, cells: torch.Tensor, first: int, last: int, reverse_cells: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, int]:
        """The flows of eq. 2 anchored at the earlier frame of each pair, for the frames that use them.

        ``motion[t]`` warps M_{t-1} to M_t (after the base) and M_t to M_{t-1} (before it). With
        ``warp="backward"`` the step after the base samples along ``v_{t->t-1} = -motion[t]``
        (direct) and the step before it along ``v_{t-1->t}``, anchored at frame t-1; with
        ``"forward"`` (splatting, anchored at the source) the step after the base splats along
        ``v_{t-1->t}`` and the step before it along ``-motion[t]``. ``v_{t-1->t}`` is
        ``-reverse_cells[:, t-1]`` when the reverse motion is known, else the inverse of
        ``motion[t]`` (batched over frames). Only the frames that are used are computed: t in
        [1, last] (backward) or (first, T) (forward).

        Args:
            cells: (B, T, H_m, W_m, 2) motion in map cells; ``cells[:, t]`` is anchored at frame t.
            first, last: the smallest and largest base frame of the batch.
            reverse_cells: (B, T, H_m, W_m, 2) reverse motion in map cells, or None.

        Returns:
            (flows (B, hi - lo, H_m, W_m, 2) in cells, lo): ``flows[:, t - lo]`` is ``v_{t-1->t}``.
        """
        batch, frames, h, w, _ = cells.shape
        lo, hi = (first + 1, frames) if self.warp == "forward" else (1, last + 1)
        if hi <= lo:
            return cells.new_zeros(batch, 0, h, w, 2), lo
        if reverse_cells is not None:
            return -reverse_cells[:, lo - 1 : hi - 1], lo
        chunk = cells[:, lo:hi].reshape(batch * (hi - lo), h, w, 2)
        return invert_flow(chunk, self.inverse_flow_iters).reshape(batch, hi - lo, h, w, 2), lo

    def _step(self, source: torch.Tensor, cells: torch.Tensor, inverse: tuple[torch.Tensor, int], t: int,
              after: bool) -> torch.Tensor:
        """Warps ``source`` (B, 1, H_m, W_m) with ``motion[t]``: from frame t-1 to t (``after``, the
        side after the base) or from t to t-1, per ``warp`` (see :meth:`inverse_flows`)."""
        backward = self.warp == "backward"
        if backward == after:  # the direct flow -motion[t], negated on the fly (exact)
            flow = cells[:, t]
            return backward_warp(source, flow, flow_scale=-1.0) if backward else forward_warp(source, -flow)
        flow = inverse[0][:, t - inverse[1]]
        return backward_warp(source, flow) if backward else forward_warp(source, flow)

    def _fill(self, warped: torch.Tensor, source: torch.Tensor, base: torch.Tensor,
              noise: torch.Tensor | None) -> torch.Tensor:
        """Step 4: replaces exact zeros (holes) of ``warped`` per ``hole_fill``; all (B, 1, H_m, W_m)."""
        if self.hole_fill == "invisible":
            value = torch.full_like(warped, EPS)
        elif self.hole_fill == "visible":
            value = torch.ones_like(warped)
        elif self.hole_fill == "random":
            value = torch.where(noise < 1 - self.mask_ratio, torch.ones_like(warped), torch.full_like(warped, EPS))
        elif self.hole_fill == "previous":
            value = source
        else:  # tube
            value = base
        return torch.where(warped == 0, value, warped)

    def build_volume(
        self,
        motion: torch.Tensor,
        generator: torch.Generator | None = None,
        device: torch.device | None = None,
        reverse_motion: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Steps 1–4: the visibility volume (B, T, H_m, W_m), 1 = visible, from motion (B, T, h_m, w_m, 2)
        and optionally the reverse motion (same shape; see :meth:`MaskingStrategy.__call__`).

        H_m = H / map_stride. Public so that tests and visualisations can check the map itself.
        """
        g = self.geometry
        device = motion.device if device is None else torch.device(device)
        motion = motion.to(device).float()
        batch, frames = motion.shape[:2]
        size = (g.image_size[0] // self.map_stride, g.image_size[1] // self.map_stride)
        cells = self.motion_cells(motion)  # (B, T, H_m, W_m, 2) in map cells
        reverse_cells = None if reverse_motion is None else self.motion_cells(reverse_motion.to(device).float())
        base_index = self.base_indices(batch, generator, device)  # (B,)
        base = self.initial_maps(batch, generator, device).unsqueeze(1)  # (B, 1, H_m, W_m)
        noise = None
        if self.hole_fill == "random":
            noise = self.rand((batch, frames, 1, *size), generator, device)
        first, last = int(base_index.min()), int(base_index.max())
        inverse = self.inverse_flows(cells, first, last, reverse_cells)
        shared = first == last  # one base frame for the whole batch: every step is active in every clip
        if shared:
            volume = base.new_empty(batch, frames, *size)
            volume[:, first] = base[:, 0]
        else:
            volume = base.expand(batch, frames, *size).clone()
        for after, steps in ((True, range(first + 1, frames)), (False, range(last - 1, -1, -1))):
            current = base  # after the base: t-1 -> t with motion[t]; before it: t+1 -> t with motion[t+1]
            for t in steps:
                warped = self._step(current, cells, inverse, t if after else t + 1, after)
                warped = self._fill(warped, current, base, None if noise is None else noise[:, t])
                if shared:
                    current = warped
                    volume[:, t] = warped[:, 0]
                    continue
                active = ((t > base_index) if after else (t < base_index)).view(batch, 1, 1, 1)
                current = torch.where(active, warped, base)
                volume[:, t] = torch.where(active[:, 0], current[:, 0], volume[:, t])
        return volume

    # ---------------------------------------------------------------------------------- tokens
    def token_scores(self, volume: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Step 5: the visibility volume (B, T, H_m, W_m) -> token scores (B, T', h * w).

        Each token's mean over its tubelet × patch × patch (section 3.3), plus the exposure noise
        (``exposure_scale`` × N(0, 1), the same draw for every token of one random time step per
        clip, section 4.2) and a tie-breaking 1e-6 × U(0, 1) per position, the same at every step.
        """
        g = self.geometry
        batch = volume.shape[0]
        steps, h, w = g.token_grid
        device = volume.device
        cells = g.patch_size // self.map_stride
        tokens = F.avg_pool3d(volume.unsqueeze(1), kernel_size=(g.tubelet_size, cells, cells))
        tokens = tokens.reshape(batch, steps, h * w)
        if self.exposure_std > 0:  # section 4.2: noise on one random time step per clip
            chosen = (self.rand((batch,), generator, device) * steps).long().clamp_max(steps - 1)
            noise = self.randn((batch, 1, h * w), generator, device) * self.exposure_scale
            one_hot = F.one_hot(chosen, steps).to(tokens.dtype).unsqueeze(-1)
            tokens = tokens + one_hot * noise
        # Break exact ties (and float noise of the warps) the same way at every time step, so that
        # where nothing moves the visible set stays put, as in tube masking.
        return tokens + 1e-6 * self.rand((batch, 1, h * w), generator, device)

    def _generate(
        self,
        batch_size: int,
        motion: torch.Tensor | None,
        generator: torch.Generator | None,
        device: torch.device,
        reverse_motion: torch.Tensor | None = None,
    ) -> torch.Tensor:
        steps, h, w = self.geometry.token_grid
        volume = self.build_volume(motion, generator, device, reverse_motion)  # (B, T, H_m, W_m)
        tokens = self.token_scores(volume, generator)  # (B, T', h * w)
        num_visible = self.num_visible_per_frame
        if self.top_k == "clip":
            tokens, num_visible = tokens.reshape(batch_size, 1, steps * h * w), num_visible * steps
        index = tokens.topk(num_visible, dim=-1).indices  # step 6: most visible tokens
        mask = torch.ones_like(tokens, dtype=torch.bool).scatter_(-1, index, False)
        return mask.reshape(batch_size, steps * h * w)
