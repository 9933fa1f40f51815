"""The ``set_transform`` callable: decode with PyAV (:func:`mgm_hf.video.read_clip`), augment frames
and motion together, and return ``pixel_values`` / ``motion`` / ``labels`` (and, with ``masking``,
``bool_masked_pos``).

Per-sample determinism: every random draw of a row (temporal start, segment offsets, crop, flip,
mask) comes from one ``torch.Generator`` of that row, seeded with the row's ``sample_seed`` column when
the batch has one (as data: no global RNG is read or written then), else from torch's global RNG. A
row's clip and mask therefore depend only on its sample seed: not on its batch neighbours, the number
of DataLoader workers or a resume. This is the one place where the data side makes masks (with
:meth:`~mgm_hf.masking.MaskingStrategy.mask_clips`); the collator only stacks them. The training
loader (``mgm_hf.training.data.seeded_loader``) gives every row the seed its sampler drew for it.

Failure policy: a video whose **file** cannot be read (the reader raises
:class:`~mgm_hf.video.VideoReadError`: missing, empty, truncated, corrupt, no video stream or decoder,
too short, no motion vectors) is **skipped**: its row comes back with ``pixel_values=None`` and
``motion=None`` (a marker the collator drops), the failure is logged and counted by a
:class:`~mgm_hf.data.failures.FailureTracker`, and once more than ``max_failure_rate`` of the videos
read (after ``min_attempts``) failed, a :class:`~mgm_hf.data.failures.TooManyFailuresError` stops the
run. Nothing is replaced by zeros or by another video. Every other exception (``ValueError``,
``RuntimeError``, ``IndexError``, ... from a transform, the masking, a wrong setting or a bug in the
decoding logic) is not a bad video: it propagates.

Videos smaller than the output crop (height or width below the crop's) are upscaled by the
transforms; each one is counted (:attr:`FailureTracker.num_upscaled`), the first one is logged as a
warning and :meth:`FailureTracker.summary` reports the count.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import torch

from mgm_hf.masking import MaskingStrategy, build_masking_strategy
from mgm_hf.video.errors import VideoReadError

from .failures import FailureTracker
from .transforms.modules import JointTransform

__all__ = ["DECODE_ERRORS", "VideoTransform"]

logger = logging.getLogger(__name__)

# The only errors that mean "this file is bad" and make a row a counted skip. The readers convert
# PyAV/FFmpeg errors on a bad file into VideoReadError; anything else is a bug and must surface.
DECODE_ERRORS: tuple[type[BaseException], ...] = (VideoReadError,)


class VideoTransform:
    """Decodes and augments a batch of dataset rows (``{"path": [...], "label": [...]}``, optionally
    ``"sample_seed"``: the seed of each row's generator, and ``"sample_index"``: passed through).

    Args:
        transform: a joint transform ``(frames, motion, generator) -> (frames, motion)`` (e.g.
            :func:`~mgm_hf.data.transforms.pretrain_transform`), or a list of them: one view each
            (e.g. :func:`~mgm_hf.data.transforms.eval_transforms`, the three test crops). None
            only converts to float (T, C, H, W).
        num_frames: T, frames per clip.
        frame_stride: distance between sampled frames (4 for K400, 2 for SSv2 in the papers).
        motion: what :func:`~mgm_hf.video.read_clip` returns as motion: ``"auto"`` (motion vectors,
            else optical flow), ``"motion_vectors"``, ``"optical_flow"``, ``"none"`` (None: from
            ``motion_options``, default ``"auto"``).
        sampling: ``"dense"`` (``num_frames`` frames ``frame_stride`` apart from a random start,
            pretraining), ``"segments"`` (TSN: one random frame from each of ``num_frames`` equal
            segments, SSv2 fine-tuning) or ``"segments_center"`` (segment middles, testing).
        num_temporal_views: > 1 decodes that many evenly spaced clips in one pass
            (:func:`~mgm_hf.video.read_views`; the papers test with 5 on K400, 2 on SSv2); each is
            then augmented by every transform of the list (e.g. 3 crops: 5 × 3 = 15 views).
        test_views: decode with :func:`~mgm_hf.video.read_views` (evenly spaced, no random start)
            also for ``num_temporal_views=1`` (the centre clip of single-view testing); implied by
            ``num_temporal_views > 1``.
        num_repeats: repeated augmentation: the decoded clip is augmented ``num_repeats`` times
            (random crops/flips differ; the frames are decoded once). Rows then carry a leading
            view dimension, which :class:`~mgm_hf.data.VideoCollator` flattens into the batch.
        max_failure_rate: tolerated share of videos whose file cannot be read, in [0, 1] (see the
            module docstring); above it :class:`~mgm_hf.data.TooManyFailuresError` stops the run.
        min_attempts: videos read before the share is checked.
        masking: a :class:`~mgm_hf.masking.MaskingStrategy` (or a model config with a ``masking``
            dict): each row gets its mask(s) ``bool_masked_pos`` (L,) or (V, L), made from the row's
            own generator (see the module docstring), which :class:`~mgm_hf.data.VideoCollator`
            stacks. None (default): no masks (fine-tuning, testing, or a model that makes its own).
        read_kwargs: more keyword arguments for ``read_clip`` (e.g. ``short_clip``); the fields of
            :class:`~mgm_hf.video.MotionOptions` given here (``flow_method``, ``mv_grid``, ...) join
            ``motion_options``.
        motion_options: a :class:`~mgm_hf.video.MotionOptions`; validated once, here (in the parent
            process, before DataLoader workers fork), and passed to the built-in readers.
        reader: the clip reader, ``reader(path, num_frames=, frame_stride=, sampling=, motion=,
            seed=, **read_kwargs) -> Clip``; defaults to :func:`mgm_hf.video.read_clip` (not used
            with test views, which call :func:`~mgm_hf.video.read_views`). It must raise
            :class:`~mgm_hf.video.VideoReadError` for a bad file (the only skipped error).

    Each output row: ``pixel_values`` float (T, C, H, W), ``motion`` float (T, h, w, 2) or None,
    ``labels`` int, ``bool_masked_pos`` bool (L,) (with ``masking``), ``sample_index`` int (when the
    dataset has that column); with several views (``num_repeats > 1``, test views or a list of
    transforms) ``pixel_values`` is (V, T, C, H, W), ``motion`` (V, T, h, w, 2) and
    ``bool_masked_pos`` (V, L). A failed row has ``pixel_values=None`` (and no mask).

    Randomness: one generator per row, seeded with the batch's ``sample_seed`` column (what
    :class:`~mgm_hf.training.sampling.SeededDataset` passes) or else from torch's global RNG (which
    ``torch.manual_seed`` and DataLoader's per-worker seeding control).

    Failure and upscale counts live in each process: with DataLoader workers every worker checks the
    share over the videos it read (and logs its own first upscaled video). Decoding is fork-safe (``tests/test_video_fork.py``), so the default "fork"
    DataLoader workers work.
    """

    def __init__(
        self,
        transform: JointTransform | Callable | Sequence[JointTransform | Callable] | None = None,
        *,
        num_frames: int = 16,
        frame_stride: int = 4,
        sampling: str = "dense",
        motion: str | None = None,
        num_temporal_views: int = 1,
        test_views: bool = False,
        num_repeats: int = 1,
        max_failure_rate: float = 0.05,
        min_attempts: int = 20,
        masking: Any = None,
        read_kwargs: dict[str, Any] | None = None,
        motion_options: Any = None,
        reader: Callable[..., Any] | None = None,
    ) -> None:
        if num_repeats < 1 or num_temporal_views < 1:
            raise ValueError(f"num_repeats and num_temporal_views must be >= 1, got {num_repeats}, "
                             f"{num_temporal_views}.")
        if sampling not in ("dense", "segments", "segments_center"):
            raise ValueError(f"sampling must be 'dense', 'segments' or 'segments_center', got {sampling!r}.")
        self.views = list(transform) if isinstance(transform, (list, tuple)) else [transform]
        self.test_views = bool(test_views) or num_temporal_views > 1
        self.multi_view = isinstance(transform, (list, tuple)) or num_repeats > 1 or self.test_views
        self.num_frames = int(num_frames)
        self.frame_stride = int(frame_stride)
        self.sampling = sampling
        self.num_temporal_views = int(num_temporal_views)
        self.num_repeats = int(num_repeats)
        self.read_kwargs = dict(read_kwargs or {})
        from mgm_hf.video import MotionOptions

        self._motion_kwargs = {k: self.read_kwargs.pop(k) for k in list(self.read_kwargs)
                               if k in MotionOptions.field_names()}
        self.motion_options = MotionOptions.from_kwargs(motion_options, motion=motion, **self._motion_kwargs)
        self.motion = self.motion_options.motion
        self.reader = reader
        self.masking = _masking_strategy(masking)
        self.failures = FailureTracker(max_failure_rate, min_attempts)

    # --------------------------------------------------------------------------------- one video
    def read(self, path: str, generator: torch.Generator | None = None) -> list[Any]:
        """Decodes the temporal views of one video: a list of clips with frames uint8 (T, H, W, 3) and
        motion (T, h, w, 2) or None. Random starts are seeded from ``generator`` (torch's global RNG
        when None)."""
        if self.test_views:
            from mgm_hf.video import read_views

            return read_views(
                path, self.num_frames, self.frame_stride, self.num_temporal_views,
                sampling="dense" if self.sampling == "dense" else "segments",
                motion_options=self.motion_options, **self.read_kwargs,
            )
        reader = self.reader
        motion = {"motion": self.motion, **self._motion_kwargs}  # a custom reader: the keywords as given
        if reader is None:
            from mgm_hf.video import read_clip as reader

            motion = {"motion_options": self.motion_options}
        seed = int(torch.randint(0, 2**62, (1,), generator=generator).item())
        return [
            reader(
                path, num_frames=self.num_frames, frame_stride=self.frame_stride, sampling=self.sampling,
                seed=seed, **motion, **self.read_kwargs,
            )
        ]

    def augment(
        self, clips: list[Any], generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """All views of one video's decoded clips, stacked (temporal view, then transform, then
        repeat): (V, T, C, H, W) and (V, T, h, w, 2) or None. Crops/flips draw from ``generator``."""
        from .transforms.functional import to_float_tchw

        outputs = []
        for clip in clips:
            frames, motion = clip.frames, clip.motion
            for view in self.views:
                for _ in range(self.num_repeats):
                    if view is None:
                        out = (to_float_tchw(frames), None if motion is None else torch.as_tensor(motion).float())
                    else:
                        out = view(frames, motion, generator)
                    outputs.append(out)
        pixel_values = torch.stack([torch.as_tensor(f) for f, _ in outputs])
        if any(m is None for _, m in outputs):
            return pixel_values, None
        return pixel_values, torch.stack([torch.as_tensor(m, dtype=torch.float32) for _, m in outputs])

    def process(self, path: str, seed: int | None = None) -> dict[str, Any] | None:
        """Decode + augment (+ mask) one video, every draw from one generator seeded with ``seed``
        (drawn from torch's global RNG when None): ``{"pixel_values", "motion"[, "bool_masked_pos"]}``
        with the shapes of the class docstring; None (logged and counted) when the video fails."""
        if seed is None:
            seed = int(torch.randint(0, 2**62, (1,)).item())
        generator = torch.Generator().manual_seed(int(seed))
        try:
            clips = self.read(path, generator)
        except DECODE_ERRORS as error:  # only a bad file; a bug in the augmentation must surface
            self.failures.failure(path, error.reason)
            return None
        pixel_values, motion = self.augment(clips, generator)
        self.failures.success()
        self._count_upscaled(path, clips, pixel_values)
        row: dict[str, Any] = {"pixel_values": pixel_values, "motion": motion}
        if self.masking is not None:  # outside the try: a wrong geometry is an error, not a bad video
            row["bool_masked_pos"] = self.masking.mask_clips(pixel_values, motion, generator)
        if not self.multi_view:
            row = {k: None if v is None else v[0] for k, v in row.items()}
        return row

    def _count_upscaled(self, path: str, clips: list[Any], pixel_values: torch.Tensor) -> None:
        """Counts the video as upscaled when its frames (T, H, W, 3) are lower or narrower than the
        output ``pixel_values`` (V, T, C, H', W')."""
        frame_hw = tuple(clips[0].frames.shape[1:3])
        output_hw = tuple(pixel_values.shape[-2:])
        if frame_hw[0] < output_hw[0] or frame_hw[1] < output_hw[1]:
            self.failures.record_upscaled(path, frame_hw, output_hw)

    # ------------------------------------------------------------------------------------- batch
    def __call__(self, batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        if "path" not in batch:
            raise KeyError(f"VideoTransform needs a 'path' column; the dataset has {sorted(batch)}.")
        paths = batch["path"]
        labels = batch.get("label", [-1] * len(paths))
        seeds = batch.get("sample_seed", [None] * len(paths))
        keys = ["pixel_values", "motion", *(["bool_masked_pos"] if self.masking is not None else [])]
        out: dict[str, list[Any]] = {key: [] for key in [*keys, "labels"]}
        for path, label, seed in zip(paths, labels, seeds):
            row = self.process(path, seed) or {}
            for key in keys:
                out[key].append(row.get(key))
            out["labels"].append(int(label) if label is not None else -1)
        if "sample_index" in batch:
            out["sample_index"] = [int(i) for i in batch["sample_index"]]
        return out

    def __repr__(self) -> str:
        return (
            f"VideoTransform(views={self.views!r}, num_frames={self.num_frames}, frame_stride="
            f"{self.frame_stride}, sampling={self.sampling!r}, motion={self.motion!r}, "
            f"num_temporal_views={self.num_temporal_views}, test_views={self.test_views}, "
            f"num_repeats={self.num_repeats}, masking={self.masking!r}, "
            f"max_failure_rate={self.failures.max_failure_rate})"
        )


def _masking_strategy(masking: Any) -> MaskingStrategy | None:
    """A :class:`~mgm_hf.masking.MaskingStrategy` as is, one built from a model config with a
    ``masking`` dict, or None."""
    if masking is None or isinstance(masking, MaskingStrategy):
        return masking
    return build_masking_strategy(masking)
