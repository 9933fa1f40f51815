"""``VideoCollator``: stacks decoded rows of :class:`~mgm_hf.data.VideoTransform` into a batch. It
makes nothing: masks come with the rows (``VideoTransform(masking=...)``, one per row from that row's
seeded generator)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch

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

    Rows that carry ``bool_masked_pos`` (L,) or (V, L) (made per row by ``VideoTransform(masking=...)``)
    give a ``bool_masked_pos`` column; rows that carry ``sample_index`` give a ``sample_index`` int64
    (B,) column (both repeated per view, like ``labels``).

    Args:
        flatten_views: see above.

    A collator that made masks itself would draw them outside the row's seeded generator, so they
    would change with the batch neighbours and the number of workers, and a resumed run would not
    repeat them; that is why masks are made per row by the transform.

    Returns (``__call__``): ``pixel_values`` float (B, T, C, H, W), ``motion`` float (B, T, h, w, 2)
    (absent when the rows have none), ``bool_masked_pos`` bool (B, L) (when the rows have masks),
    ``labels`` int64 (B,), ``sample_index`` int64 (B,) (when the rows have it); B counts views when
    flattened.
    """

    def __init__(self, *, flatten_views: bool = True) -> None:
        self.flatten_views = bool(flatten_views)
        self.num_dropped = 0

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
        return f"VideoCollator(flatten_views={self.flatten_views})"


def _optional_column(rows: Sequence[dict[str, Any]], key: str, dtype: torch.dtype) -> list[torch.Tensor] | None:
    """The ``key`` tensors of every row, or None when no row has one (a mix is an error)."""
    values = [row.get(key) for row in rows]
    if all(v is None for v in values):
        return None
    if any(v is None for v in values):
        raise ValueError(f"Some rows have {key} and others do not; decode them all the same way.")
    return [torch.as_tensor(v, dtype=dtype) for v in values]
