"""VideoCollator: stacks rows (shapes, dtypes, views flattened, failed rows dropped, row masks and sample
indices carried through) and makes no mask of its own."""

from __future__ import annotations

import pytest
import torch

from mgm_hf.data import VideoCollator
from mgm_hf.masking import build_masking_strategy

T, H, W, GRID = 4, 32, 32, 4
SIZES = {"num_frames": T, "image_size": H, "patch_size": 8, "tubelet_size": 2}
L = (T // 2) * (H // 8) * (W // 8)


def row(label: int, views: int | None = None, motion: bool = True, x: int = 1) -> dict:
    """A decoded row as VideoTransform makes it; motion: one cell moving right at column ``x``."""
    shape = (T, 3, H, W) if views is None else (views, T, 3, H, W)
    field = torch.zeros((T, GRID, GRID, 2) if views is None else (views, T, GRID, GRID, 2))
    field[..., 1, x, 0] = 5.0
    return {"pixel_values": torch.randn(shape), "motion": field if motion else None, "labels": label}


def masked_row(strategy, label: int, seed: int, x: int = 1) -> dict:
    """A row with the mask VideoTransform(masking=strategy) gives it: from the row's own generator."""
    out = row(label, x=x)
    mask = strategy.mask_clips(out["pixel_values"][None], out["motion"][None], torch.Generator().manual_seed(seed))
    return {**out, "bool_masked_pos": mask[0]}


@pytest.mark.parametrize("name", ["tube", "random", "mgm"])
def test_shapes_dtypes_and_row_masks_stacked(name):
    strategy = build_masking_strategy({"name": name, "mask_ratio": 0.75}, **SIZES)
    rows = [masked_row(strategy, 0, seed=0), masked_row(strategy, 1, seed=1, x=2), masked_row(strategy, 2, seed=2, x=3)]
    batch = VideoCollator()(rows)
    assert batch["pixel_values"].shape == (3, T, 3, H, W) and batch["pixel_values"].dtype == torch.float32
    assert batch["motion"].shape == (3, T, GRID, GRID, 2) and batch["motion"].dtype == torch.float32
    assert batch["bool_masked_pos"].shape == (3, L) and batch["bool_masked_pos"].dtype == torch.bool
    assert torch.equal(batch["bool_masked_pos"], torch.stack([r["bool_masked_pos"] for r in rows]))
    assert batch["bool_masked_pos"].sum(1).tolist() == [strategy.num_masked] * 3
    assert batch["labels"].dtype == torch.int64 and batch["labels"].tolist() == [0, 1, 2]


def test_rows_without_masks_give_a_batch_without_masks():
    batch = VideoCollator()([row(0), row(1, x=2)])
    assert "bool_masked_pos" not in batch and batch["pixel_values"].shape == (2, T, 3, H, W)


def test_repeats_are_flattened_with_labels():
    batch = VideoCollator()([row(4, views=2), row(7, views=2)])
    assert batch["pixel_values"].shape == (4, T, 3, H, W)
    assert batch["motion"].shape == (4, T, GRID, GRID, 2)
    assert batch["labels"].tolist() == [4, 4, 7, 7]


def test_unflattened_views_for_testing():
    batch = VideoCollator(flatten_views=False)([row(1, views=3), row(2, views=3)])
    assert batch["pixel_values"].shape == (2, 3, T, 3, H, W)
    assert batch["labels"].tolist() == [[1, 1, 1], [2, 2, 2]]
    assert "bool_masked_pos" not in batch


def test_failed_rows_are_dropped_and_counted():
    collator = VideoCollator()
    failed = {"pixel_values": None, "motion": None, "labels": 5}
    batch = collator([row(0), failed, row(2)])
    assert batch["labels"].tolist() == [0, 2] and collator.num_dropped == 1
    with pytest.raises(RuntimeError, match="Every video of this batch of 2 failed"):
        collator([failed, failed])
    assert collator.num_dropped == 3


def test_rows_without_motion():
    batch = VideoCollator()([row(0, motion=False), row(1, motion=False)])
    assert "motion" not in batch and batch["pixel_values"].shape == (2, T, 3, H, W)
    with pytest.raises(ValueError, match="Some rows have motion"):
        VideoCollator()([row(0), row(1, motion=False)])


def test_masks_made_per_row_are_stacked_with_their_views():
    strategy = build_masking_strategy({"name": "tube", "mask_ratio": 0.75}, **SIZES)
    generator = torch.Generator().manual_seed(0)
    rows = [{**row(i, views=2), "bool_masked_pos": strategy(2, generator=generator), "sample_index": 10 + i}
            for i in range(2)]
    batch = VideoCollator()(rows)
    assert torch.equal(batch["bool_masked_pos"], torch.cat([r["bool_masked_pos"] for r in rows]))
    assert batch["sample_index"].tolist() == [10, 10, 11, 11]
    unflat = VideoCollator(flatten_views=False)(rows)
    assert unflat["bool_masked_pos"].shape == (2, 2, L) and unflat["sample_index"].tolist() == [[10, 10], [11, 11]]
    with pytest.raises(ValueError, match="Some rows have bool_masked_pos"):
        VideoCollator()([rows[0], row(3, views=2)])
