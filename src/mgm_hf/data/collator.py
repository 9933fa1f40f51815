"""``VideoCollator``: stacks decoded rows into a batch and makes the masks (unless the rows carry
theirs), in the DataLoader worker; :func:`make_masks`, the mask call it shares with
:class:`~mgm_hf.data.VideoTransform`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import get_worker_info

__all__ = ["VideoCollator", "make_masks", "resolve_masking"]

logger = logging.getLogger(__name__)


def resolve_masking(masking: Any, **sizes: Any) -> Any:
    """A :class:`~mgm_hf.masking.MaskingStrategy` as is, or one built from what
    ``build_masking_strategy`` takes (a model config, or a plain dict plus the ``sizes`` keywords);
    None stays None."""
    if masking is not None and not callable(masking):
        from mgm_hf.masking import build_masking_strategy

        return build_masking_strategy(masking, **sizes)
    if sizes:
        raise TypeError(f"Unexpected arguments {sorted(sizes)} (sizes only go with a masking config).")
    return masking


def make_masks(
    masking: Any, pixel_values: torch.Tensor, motion: torch.Tensor | None, generator: torch.Generator | None
) -> torch.Tensor:
    """Masks of clips ``pixel_values`` (N, T, C, H, W) with ``motion`` (N, T, h, w, 2) or None, drawn
    from ``generator``: BoolTensor (N, L). Checks that the clips have the strategy's geometry."""
    geometry = getattr(masking, "geometry", None)
    if geometry is not None:
        got = (pixel_values.shape[1], *pixel_values.shape[-2:])
        want = (geometry.num_frames, *geometry.image_size)
        if got != want:
            raise ValueError(
                f"Clips are (T, H, W) = {got} but the masking strategy expects {want}; make the "
                "transform's size and num_frames match the model."
            )
    needs_pixels = motion is None and getattr(masking, "requires_motion", False)
    return masking(
        pixel_values.shape[0], motion=motion, generator=generator,
        pixel_values=pixel_values if needs_pixels else None,
    )


class VideoCollator:
    """Collates rows of :class:`~mgm_hf.data.VideoTransform` into a batch.

    Rows whose ``pixel_values`` is None (videos that failed to decode) are dropped, so the batch
    shrinks; ``num_dropped`` counts them (in this process). A batch in which every video failed
    raises a RuntimeError (only likely with tiny batches; the transform's failure share has already
    been logged).

    Rows with several views (repeated augmentation, test views) of shape (V, T, C, H, W) are
    flattened into the batch, labels repeated (``flatten_views=True``), or kept as (B, V, ...)
    (``flatten_views=False``, for averaging test-view predictions per video).

    Rows that carry their own ``bool_masked_pos`` (L,) or (V, L) (made per row by
    ``VideoTransform(masking=...)``, from the row's seeded generator) are stacked as they are: no
    mask is made here then. Rows that carry ``sample_index`` give a ``sample_index`` int64 (B,) column
    (repeated per view, like ``labels``).

    Args:
        masking: a :class:`~mgm_hf.masking.MaskingStrategy`, or what ``build_masking_strategy``
            takes (a model config with a ``masking`` dict, or a plain dict plus the ``sizes``
            keywords); None makes no mask (fine-tuning, evaluation, or rows with masks).
        seed: seeds the mask generator (in DataLoader workers mixed with the worker's seed, which
            differs per worker and per epoch); None draws from torch's global RNG, which DataLoader
            seeds per worker.
        flatten_views: see above.

    Returns (``__call__``): ``pixel_values`` float (B, T, C, H, W), ``motion`` float (B, T, h, w, 2)
    (absent when the rows have none), ``bool_masked_pos`` bool (B, L) with the same number of True per
    row (absent without ``masking`` and without row masks), ``labels`` int64 (B,), ``sample_index``
    int64 (B,) (when the rows have it); B counts views when flattened.
    """

    def __init__(
        self, masking: Any = None, *, seed: int | None = None, flatten_views: bool = True, **sizes: Any
    ) -> None:
        self.masking = resolve_masking(masking, **sizes)
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
        counts = torch.tensor([p.shape[0] if multi else 1 for p in pixel_values])
        batch = {"pixel_values": torch.cat(pixel_values) if multi else torch.stack(pixel_values)}
        for key, dtype in (("motion", torch.float32), ("bool_masked_pos", torch.bool)):
            values = _optional_column(good, key, dtype)
            if values is not None:
                batch[key] = torch.cat(values) if multi else torch.stack(values)
        if self.masking is not None and "bool_masked_pos" not in batch:
            batch["bool_masked_pos"] = make_masks(
                self.masking, batch["pixel_values"], batch.get("motion"), self._generator()
            )
        batch["labels"] = torch.tensor(
            [int(row.get("labels", row.get("label", -1))) for row in good], dtype=torch.long
        ).repeat_interleave(counts)
        if all("sample_index" in row for row in good):
            batch["sample_index"] = torch.tensor(
                [int(row["sample_index"]) for row in good], dtype=torch.long
            ).repeat_interleave(counts)
        if multi and not self.flatten_views:
            if len(set(counts.tolist())) != 1:
                raise ValueError(
                    f"flatten_views=False needs the same number of views per row, got {counts.tolist()}."
                )
            batch = {k: v.view(len(good), int(counts[0]), *v.shape[1:]) for k, v in batch.items()}
        return batch

    def __repr__(self) -> str:
        return f"VideoCollator(masking={self.masking!r}, seed={self.seed}, flatten_views={self.flatten_views})"


def _optional_column(rows: Sequence[dict[str, Any]], key: str, dtype: torch.dtype) -> list[torch.Tensor] | None:
    """The ``key`` tensors of every row, or None when no row has one (a mix is an error)."""
    values = [row.get(key) for row in rows]
    if all(v is None for v in values):
        return None
    if any(v is None for v in values):
        raise ValueError(f"Some rows have {key} and others do not; decode them all the same way.")
    return [torch.as_tensor(v, dtype=dtype) for v in values]
