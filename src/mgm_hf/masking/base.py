"""The ``MaskingStrategy`` contract shared by every strategy.

A strategy is built from a config dict plus a :class:`MaskGeometry`, and called as
``strategy(batch_size, motion=None, generator=None, pixel_values=None) -> BoolTensor (B, L)``
with True = masked; clips are masked with ``strategy.mask_clips(pixel_values, motion, generator)``,
which first checks that they have the strategy's geometry. Constructor arguments *are* the config (as in diffusers' schedulers):
``to_dict()`` reads them back by name, so every subclass stores each ``__init__`` argument as an
attribute of the same name.
"""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import torch

from .geometry import MaskGeometry


class MaskingStrategy(ABC):
    """Base class: validates inputs, resolves the device, checks the output invariant.

    Subclasses set ``name`` (the registry key), ``requires_motion`` and implement
    :meth:`_generate`. Random numbers are drawn on the generator's device (CPU by default) and then
    moved, so a seeded generator gives the same mask on every device.
    """

    name: ClassVar[str] = ""
    requires_motion: ClassVar[bool] = False
    #: True when :meth:`_generate` also takes ``reverse_motion`` (see :meth:`__call__`).
    uses_reverse_motion: ClassVar[bool] = False
    #: Optical-flow backend for :meth:`estimate_motion`; strategies that offer the ``flow_method``
    #: option set it (through :meth:`check_flow_method`), the others keep None.
    flow_method: str | None = None
    #: Hook ``fn(pixel_values (B, T, C, H, W)) -> motion (B, T, H, W, 2)``; wins over ``flow_method``
    #: and is not part of the config (``to_dict`` does not save it).
    flow_estimator: Callable[[torch.Tensor], torch.Tensor] | None = None

    def __init__(self, geometry: MaskGeometry, mask_ratio: float = 0.9) -> None:
        if not isinstance(geometry, MaskGeometry):
            raise TypeError(f"geometry must be a MaskGeometry, got {type(geometry).__name__}.")
        if isinstance(mask_ratio, bool) or not isinstance(mask_ratio, (int, float)):
            raise ValueError(f"mask_ratio must be a number in (0, 1), got {mask_ratio!r}.")
        if not 0.0 < float(mask_ratio) < 1.0:
            raise ValueError(f"mask_ratio must lie in (0, 1), got {mask_ratio}.")
        self.geometry = geometry
        self.mask_ratio = float(mask_ratio)

    # ----------------------------------------------------------------------------------- config
    @classmethod
    def option_names(cls) -> list[str]:
        """Constructor options a config dict may set (everything but ``geometry``)."""
        params = inspect.signature(cls.__init__).parameters
        return [p for p in params if p not in ("self", "geometry")]

    def to_dict(self) -> dict[str, Any]:
        """``{"name": ..., **options}``, JSON-serialisable, enough to rebuild this strategy."""
        options = {}
        for key in self.option_names():
            value = getattr(self, key)
            options[key] = list(value) if isinstance(value, tuple) else value
        return {"name": self.name, **options}

    @classmethod
    def from_dict(cls, config: dict[str, Any], geometry: MaskGeometry) -> MaskingStrategy:
        """Builds the strategy from ``to_dict()`` output (``name`` is optional but must match)."""
        config = dict(config)
        name = config.pop("name", cls.name)
        if name != cls.name:
            raise ValueError(f"Config names strategy {name!r}, but this class is {cls.name!r}.")
        unknown = sorted(set(config) - set(cls.option_names()))
        if unknown:
            raise ValueError(
                f"Unknown option(s) {unknown} for masking strategy {cls.name!r}; "
                f"valid options: {sorted(cls.option_names())}."
            )
        return cls(geometry, **config)

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if k != "name")
        return f"{type(self).__name__}({options})"

    def __eq__(self, other: object) -> bool:
        return (
            type(self) is type(other)
            and self.geometry == other.geometry  # type: ignore[attr-defined]
            and self.to_dict() == other.to_dict()  # type: ignore[attr-defined]
        )

    # ---------------------------------------------------------------------------------- masking
    @staticmethod
    def masked_count(ratio: float, n: int) -> int:
        """``floor(ratio * n)``, tolerant to float error (``0.29 * 100`` gives 29, not 28)."""
        return math.floor(ratio * n + 1e-6)

    @property
    def num_masked_per_frame(self) -> int:
        """Masked tokens per tubelet time step for strategies that mask frame by frame."""
        return self.masked_count(self.mask_ratio, self.geometry.tokens_per_frame)

    @property
    def counts_per_frame(self) -> bool:
        """True when every tubelet time step masks exactly ``num_masked_per_frame`` tokens."""
        return False

    @property
    def num_masked(self) -> int:
        """Masked tokens per clip (the same in every row): per time step times steps when
        ``counts_per_frame``, else ``floor(mask_ratio * L)``."""
        if self.counts_per_frame:
            return self.geometry.token_grid[0] * self.num_masked_per_frame
        return self.masked_count(self.mask_ratio, self.geometry.seq_length)

    def __call__(
        self,
        batch_size: int,
        motion: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        pixel_values: torch.Tensor | None = None,
        device: torch.device | str | None = None,
        reverse_motion: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Makes masks for a batch.

        Args:
            batch_size: B.
            motion: (B, T, h, w, 2) float, the motion convention: ``motion[b, t, y, x] = (dx, dy)``
                in pixels of the (H, W) frame, how far the content at (x, y) of frame t moved since
                frame t-1; on any grid h × w (strategies resample it), or (T, h, w, 2) for a single
                clip (B must be 1).
            generator: a ``torch.Generator``; the same seed gives the same mask on any device.
            pixel_values: (B, T, C, H, W), used only by strategies that can estimate motion.
            device: where the mask goes; defaults to motion's, then pixel_values' device, then CPU.
            reverse_motion: only for strategies with ``uses_reverse_motion`` (``mgmae``): the motion
                of the clip played backwards, anchored at each frame: ``reverse_motion[b, t, y, x]``
                is how far the content at (x, y) of frame t moved since frame t+1 (as flow from frame
                t+1 to frame t in the motion convention); ``[:, T-1]`` is unused. Same shapes as
                ``motion``. When motion is estimated from ``pixel_values`` it is estimated too.

        Returns:
            BoolTensor (B, L), True = masked, exactly ``self.num_masked`` True per row.
        """
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}.")
        batch_size = int(batch_size)
        if device is None:
            device = next((x.device for x in (motion, pixel_values) if x is not None), torch.device("cpu"))
        device = torch.device(device)
        if reverse_motion is not None:
            if not self.uses_reverse_motion:
                raise ValueError(f"Masking strategy {self.name!r} does not use reverse_motion.")
            reverse_motion = self._check_motion(reverse_motion, batch_size).to(device)
        if motion is not None:
            motion = self._check_motion(motion, batch_size).to(device)
        elif self.requires_motion:
            if pixel_values is None:
                raise ValueError(
                    f"Masking strategy {self.name!r} needs motion: pass motion=(B, T, h, w, 2) "
                    "(motion vectors or optical flow), or pixel_values to estimate it."
                )
            pixel_values = pixel_values.to(device)
            motion = self._check_motion(self.estimate_motion(pixel_values), batch_size).to(device)
            if self.uses_reverse_motion and reverse_motion is None:
                reverse_motion = self.estimate_reverse_motion(pixel_values)
                reverse_motion = self._check_motion(reverse_motion, batch_size).to(device)
        if self.uses_reverse_motion:
            mask = self._generate(batch_size, motion, generator, device, reverse_motion=reverse_motion)
        else:
            mask = self._generate(batch_size, motion, generator, device)
        expected = (batch_size, self.geometry.seq_length)
        if mask.shape != expected or mask.dtype != torch.bool:
            raise RuntimeError(f"{self.name}: made {tuple(mask.shape)} {mask.dtype}, expected {expected} bool.")
        return mask.to(device)

    def mask_clips(
        self,
        pixel_values: torch.Tensor,
        motion: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Masks of the clips ``pixel_values`` (N, T, C, H, W), with their ``motion`` (N, T, h, w, 2) or
        None, drawn from ``generator``: BoolTensor (N, L) on ``pixel_values``' device.

        The one mask call of the data side (:class:`~mgm_hf.data.VideoTransform`, per row) and of the
        model (``MGMVideoMAE`` when ``bool_masked_pos`` is None). Checks first that the clips have this
        strategy's (T, H, W); a motion-guided strategy given no motion estimates it from the pixels
        (``flow_method`` / ``flow_estimator``, see :meth:`estimate_motion`).
        """
        if pixel_values.dim() != 5:
            raise ValueError(f"pixel_values must be (N, T, C, H, W), got shape {tuple(pixel_values.shape)}.")
        got = (pixel_values.shape[1], *pixel_values.shape[-2:])
        want = (self.geometry.num_frames, *self.geometry.image_size)
        if got != want:
            raise ValueError(
                f"Clips are (T, H, W) = {got} but the masking strategy expects {want}; make the "
                "transform's size and num_frames match the model."
            )
        return self(
            pixel_values.shape[0], motion=motion, generator=generator, pixel_values=pixel_values,
            device=pixel_values.device,
        )

    @abstractmethod
    def _generate(
        self,
        batch_size: int,
        motion: torch.Tensor | None,
        generator: torch.Generator | None,
        device: torch.device,
    ) -> torch.Tensor:
        """Returns BoolTensor (B, L) on ``device``; ``motion`` is (B, T, h, w, 2) on ``device`` or None."""

    @staticmethod
    def check_flow_method(flow_method: str | None) -> str | None:
        """Validates the ``flow_method`` option: a backend name for ``estimate_flow_batch`` or None."""
        if flow_method is not None and not isinstance(flow_method, str):
            raise ValueError(f"flow_method must be a string or None, got {flow_method!r}.")
        return flow_method

    def estimate_motion(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(B, T, C, H, W) -> motion (B, T, H, W, 2), with ``flow_estimator`` or ``flow_method``.

        ``flow_method`` names a backend of ``mgm_hf.video.flow.estimate_flow_batch`` (``"dis"``,
        ``"dis:medium"``, ``"farneback"``, ``"raft"``, ...). Strategies without the option cannot
        estimate motion unless ``flow_estimator`` is set.
        """
        if self.flow_estimator is not None:
            return self.flow_estimator(pixel_values)
        if self.flow_method is None:
            if "flow_method" in self.option_names():
                raise ValueError(
                    f"{self.name} got pixel_values but no motion: pass motion=(B, T, h, w, 2), set the "
                    "option flow_method (e.g. 'dis'), or set strategy.flow_estimator = fn."
                )
            raise ValueError(f"Masking strategy {self.name!r} cannot estimate motion from pixel_values.")
        from mgm_hf.video.flow import estimate_flow_batch  # lazy: another module, optional backends

        return estimate_flow_batch(pixel_values, method=self.flow_method)

    def reverse_motion_frames(self) -> tuple[int, int]:
        """Frames [start, stop) whose reverse motion :meth:`_generate` reads; the default is all."""
        return 0, self.geometry.num_frames

    def estimate_reverse_motion(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(B, T, C, H, W) -> reverse motion (B, T, H, W, 2) (see :meth:`__call__`), estimated directly:
        :meth:`estimate_motion` of the frames :meth:`reverse_motion_frames` played backwards, zeros
        outside them (and at their last frame, which has no later frame among them)."""
        start, stop = self.reverse_motion_frames()
        batch, frames, _, height, width = pixel_values.shape
        reverse = pixel_values.new_zeros(batch, frames, height, width, 2)
        if stop - start < 2:
            return reverse
        backwards = self.estimate_motion(pixel_values[:, start:stop].flip(1))
        if backwards.shape[:2] != (batch, stop - start) or backwards.shape[-1] != 2:
            raise ValueError(
                f"Motion estimated for {stop - start} frames has shape {tuple(backwards.shape)}; a flow "
                "estimator must return (B, T, H, W, 2) for the T frames it is given."
            )
        if backwards.shape[2:4] != (height, width):
            reverse = reverse.new_zeros(batch, frames, *backwards.shape[2:4], 2)
        reverse[:, start:stop] = backwards.flip(1).to(reverse)
        return reverse

    def _check_motion(self, motion: torch.Tensor, batch_size: int) -> torch.Tensor:
        if not torch.is_tensor(motion):
            motion = torch.as_tensor(motion)
        if motion.dim() == 4:
            motion = motion.unsqueeze(0)
        if motion.dim() != 5 or motion.shape[-1] != 2:
            raise ValueError(f"motion must be (B, T, h, w, 2), got shape {tuple(motion.shape)}.")
        if motion.shape[0] != batch_size:
            raise ValueError(f"motion has batch {motion.shape[0]} but batch_size is {batch_size}.")
        if motion.shape[1] != self.geometry.num_frames:
            raise ValueError(
                f"motion has {motion.shape[1]} frames, the geometry {self.geometry.num_frames}."
            )
        return motion.float()

    # ------------------------------------------------------------------------------- randomness
    @staticmethod
    def rand(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
        """Uniform [0, 1) drawn on the generator's device (CPU if None), moved to ``device``."""
        gen_device = generator.device if generator is not None else torch.device("cpu")
        return torch.rand(shape, generator=generator, device=gen_device).to(device)

    @staticmethod
    def randn(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
        """Standard normal drawn on the generator's device (CPU if None), moved to ``device``."""
        gen_device = generator.device if generator is not None else torch.device("cpu")
        return torch.randn(shape, generator=generator, device=gen_device).to(device)
