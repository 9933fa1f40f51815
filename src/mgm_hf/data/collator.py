"""``VideoCollator``: stacks decoded rows into a batch and makes the masks, in the DataLoader worker."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import get_worker_info

__all__ = ["VideoCollator"]

logger = logging.getLogger(__name__)


class VideoCollator:
    """Collates rows of :class:`~mgm_hf.data.VideoTransform` into a batch.

    Rows whose ``pixel_values`` is None (videos that failed to decode) are dropped, so the batch
    shrinks; ``num_dropped`` counts them (in this process). A batch in which every video failed
    raises a RuntimeError (only likely with tiny batches; the transform's failure share has already
    been logged).

    Rows with several views (repeated augmentation, test views) of shape (V, T, C, H, W) are
    flattened into the batch, labels repeated (``flatten_views=True``), or kept as (B, V, ...)
    (``flatten_views=False``, for averaging test-view predictions per video).

    Args:
        masking: a :class:`~mgm_hf.masking.MaskingStrategy`, or what ``build_masking_strategy``
            takes (a model config with a ``masking`` dict, or a plain dict plus the ``sizes``
            keywords); None makes no mask (fine-tuning, evaluation).
        seed: seeds the mask generator (in DataLoader workers mixed with the worker's seed, which
            differs per worker and per epoch); None draws from torch's global RNG, which DataLoader
            seeds per worker.
        flatten_views: see above.

    Returns (``__call__``): ``pixel_values`` float (B, T, C, H, W), ``motion`` float (B, T, h, w, 2)
    (absent when the rows have none), ``bool_masked_pos`` bool (B, L) with the same number of True per
    row (absent without ``masking``), ``labels`` int64 (B,); B counts views when flattened.
    """

    def __init__(
        self, masking: Any = None, *, seed: int | None = None, flatten_views: bool = True, **sizes: Any
    ) -> None:
        if masking is not None and not callable(masking):
            from mgm_hf.masking import build_masking_strategy

            masking = build_masking_strategy(masking, **sizes)
        elif sizes:
            raise TypeError(f"Unexpected arguments {sorted(sizes)} (sizes only go with a masking config).")
        self.masking = masking
        self.seed = seed
        self.flatten_views = bool(flatten_views)
        self.num_dropped = 0
        self._generators: dict[int, torch.Generator] = {}

    def _generator(self) -> torch.Generator | None:
        """In a worker: seeded from ``seed`` and the worker's DataLoader seed (new every epoch, so
        masks do not repeat across epochs); in the main process: from ``seed`` alone."""
        if self.seed is None:
            return None
        info = get_worker_info()
        key = -1 if info is None else int(info.seed)
        if key not in self._generators:
            mixed = self.seed if info is None else (self.seed * 1_000_003 + info.seed) % (2**63)
            self._generators[key] = torch.Generator().manual_seed(mixed)
        return self._generators[key]

    def __call__(self, rows: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        good = [row for row in rows if row.get("pixel_values") is not None]
        dropped = len(rows) - len(good)
        if dropped:
            self.num_dropped += dropped
            logger.info("Dropped %d failed video(s) from a batch of %d.", dropped, len(rows))
        if not good:
            raise RuntimeError(
                f"Every video of this batch of {len(rows)} failed to decode (see the warnings above); "
                "use a larger batch or fix the files (`mgm-hf prepare` verifies every output)."
            )
        pixel_values = [torch.as_tensor(row["pixel_values"]) for row in good]
        views = {p.dim() for p in pixel_values}
        if views - {4, 5} or len(views) != 1:
            raise ValueError(f"pixel_values must all be (T, C, H, W) or all (V, T, C, H, W); got {views}.")
        multi = views == {5}
        counts = [p.shape[0] if multi else 1 for p in pixel_values]
        labels = torch.tensor(
            [int(row.get("labels", row.get("label", -1))) for row in good], dtype=torch.long
        ).repeat_interleave(torch.tensor(counts))
        batch = {"pixel_values": torch.cat(pixel_values) if multi else torch.stack(pixel_values)}
        motions = [row.get("motion") for row in good]
        if any(m is not None for m in motions):
            if any(m is None for m in motions):
                raise ValueError("Some rows have motion and others do not; decode them all the same way.")
            motion = [torch.as_tensor(m, dtype=torch.float32) for m in motions]
            batch["motion"] = torch.cat(motion) if multi else torch.stack(motion)
        if self.masking is not None:
            batch["bool_masked_pos"] = self._mask(batch)
        batch["labels"] = labels
        if multi and not self.flatten_views:
            if len(set(counts)) != 1:
                raise ValueError(f"flatten_views=False needs the same number of views per row, got {counts}.")
            batch = {k: v.view(len(good), counts[0], *v.shape[1:]) for k, v in batch.items()}
        return batch

    def _mask(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        pixel_values = batch["pixel_values"]
        motion = batch.get("motion")
        geometry = getattr(self.masking, "geometry", None)
        if geometry is not None:
            got = (pixel_values.shape[1], *pixel_values.shape[-2:])
            want = (geometry.num_frames, *geometry.image_size)
            if got != want:
                raise ValueError(
                    f"Clips are (T, H, W) = {got} but the masking strategy expects {want}; make the "
                    "transform's size and num_frames match the model."
                )
        needs_pixels = motion is None and getattr(self.masking, "requires_motion", False)
        return self.masking(
            pixel_values.shape[0],
            motion=motion,
            generator=self._generator(),
            pixel_values=pixel_values if needs_pixels else None,
        )

    def __repr__(self) -> str:
        return f"VideoCollator(masking={self.masking!r}, seed={self.seed}, flatten_views={self.flatten_views})"
