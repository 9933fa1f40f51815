"""Decoding on the fly: load_video_dataset + VideoTransform on real H.264 videos with known motion,
failure skipping and counting, repeated augmentation, test views, DataLoader workers, node splits,
per-row seeded clips and masks."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from datasets.distributed import split_dataset_by_node

from mgm_hf.data import (
    TooManyFailuresError,
    VideoCollator,
    VideoTransform,
    eval_transforms,
    load_video_dataset,
    pretrain_transform,
)
from mgm_hf.video.synthetic import write_moving_square_video

EXACT = {"bf": "0", "refs": "1"}  # H.264 whose vectors are exact per-frame motion
SPEED = 2.0


def make_videofolder(root: Path, per_class: int = 3, corrupt: int = 0) -> Path:
    """``root/train/{left,right}/*.mp4``: a square moving 2 px/frame left or right, 12 frames of
    48×64; plus ``corrupt`` files that are not videos."""
    for label, vx, x0 in (("left", -SPEED, 44), ("right", SPEED, 8)):
        for i in range(per_class):
            write_moving_square_video(
                root / "train" / label / f"{label}_{i}.mp4", options=EXACT, num_frames=12, size=(48, 64),
                square_size=12, velocity=(vx, 0.0), start=(x0, 10 + 4 * i), seed=i,
            )
    for i in range(corrupt):
        (root / "train" / "right" / f"broken_{i}.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 truncated")
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return make_videofolder(tmp_path_factory.mktemp("vf"), corrupt=1)


def transform(**kwargs) -> VideoTransform:
    options = {"num_frames": 4, "frame_stride": 2, "motion": "motion_vectors", "min_attempts": 1,
               "max_failure_rate": 0.5}
    options.update(kwargs)
    return VideoTransform(options.pop("view", pretrain_transform(size=32, flip=False)), **options)


def test_rows_carry_frames_motion_and_labels_with_true_direction(folder):
    torch.manual_seed(0)
    ds = load_video_dataset("videofolder", folder, "train", transform=transform())
    names = ds.features["label"].names
    assert names == ["left", "right"] and len(ds) == 7
    rows = list(ds)
    assert sum(row["pixel_values"] is None for row in rows) == 1  # the corrupt file
    for row in rows:
        if row["pixel_values"] is None:
            continue
        assert row["pixel_values"].shape == (4, 3, 32, 32) and row["pixel_values"].dtype == torch.float32
        assert row["motion"].shape == (4, 4, 4, 2)
        dx = row["motion"][1:, ..., 0]  # frame 0 may have no reference
        # 2 px/frame × stride 2 = 4 px, shrunk by the crop's resize (≤ 48 → 32); sign = class.
        strongest = dx.flatten()[dx.abs().flatten().argmax()]
        assert (strongest > 0.5) if names[row["labels"]] == "right" else (strongest < -0.5)
        assert strongest.abs() <= 4.0 * 32 / 31 + 0.5


def test_corrupt_video_is_skipped_logged_and_counted(folder, caplog):
    video_transform = transform()
    ds = load_video_dataset("videofolder", folder, "train", transform=video_transform)
    rows = [ds[i] for i in range(len(ds))]
    failed = [i for i, row in enumerate(rows) if row["pixel_values"] is None]
    assert [Path(ds.with_format(None)[i]["path"]).name for i in failed] == ["broken_0.mp4"]
    assert rows[failed[0]]["motion"] is None and rows[failed[0]]["labels"] == 1
    assert video_transform.failures.attempts == 7 and video_transform.failures.num_failures == 1
    assert "broken_0.mp4" in video_transform.failures.failures[0][0]
    assert any("Skipping video" in r.message and "broken_0.mp4" in r.getMessage() for r in caplog.records)
    batch = VideoCollator()(rows)
    assert batch["pixel_values"].shape[0] == 6 and batch["labels"].tolist().count(1) == 3


def test_failure_share_over_the_limit_stops_the_run(tmp_path):
    root = make_videofolder(tmp_path, per_class=1, corrupt=2)
    ds = load_video_dataset(
        "videofolder", root, "train", transform=transform(max_failure_rate=0.25, min_attempts=3)
    )
    with pytest.raises(TooManyFailuresError, match=r"(?s)2 of 3 videos failed .*broken_0\.mp4: cannot open"):
        for i in range(len(ds)):
            ds[i]


def test_repeated_augmentation_and_collator_flattening(folder):
    torch.manual_seed(0)
    ds = load_video_dataset("videofolder", folder, "train", transform=transform(num_repeats=2))
    row = ds[0]
    assert row["pixel_values"].shape == (2, 4, 3, 32, 32) and row["motion"].shape == (2, 4, 4, 4, 2)
    batch = VideoCollator()([ds[0], ds[4]])
    assert batch["pixel_values"].shape == (4, 4, 3, 32, 32)
    assert batch["labels"].tolist() == [0, 0, 1, 1]


def test_test_views_temporal_times_spatial(folder):
    video_transform = transform(view=eval_transforms(size=32, num_crops=3), num_temporal_views=2)
    ds = load_video_dataset("videofolder", folder, "train", transform=video_transform)
    row = ds[0]
    assert row["pixel_values"].shape == (6, 4, 3, 32, 32) and row["motion"].shape == (6, 4, 4, 4, 2)
    # The two temporal views differ; the three crops of one temporal view differ in space only.
    assert not torch.equal(row["pixel_values"][0], row["pixel_values"][3])
    batch = VideoCollator(flatten_views=False)([ds[0], ds[1]])
    assert batch["pixel_values"].shape == (2, 6, 4, 3, 32, 32) and batch["labels"].tolist() == [[0] * 6] * 2


def test_segment_sampling(folder):
    ds = load_video_dataset("videofolder", folder, "train", transform=transform(sampling="segments"))
    assert ds[0]["pixel_values"].shape == (4, 3, 32, 32)
    with pytest.raises(ValueError, match="sampling must be"):
        VideoTransform(sampling="uniform")


def test_dataloader_with_two_workers(folder):
    from mgm_hf.masking import build_masking_strategy

    strategy = build_masking_strategy(
        {"name": "tube", "mask_ratio": 0.75}, num_frames=4, image_size=32, patch_size=8, tubelet_size=2
    )
    ds = load_video_dataset("videofolder", folder, "train", transform=transform(masking=strategy, min_attempts=5))
    loader = torch.utils.data.DataLoader(
        ds, batch_size=3, num_workers=2, collate_fn=VideoCollator(),
        timeout=120,  # a hang in a forked worker fails the test instead of stalling it
    )
    batches = list(loader)
    assert sum(b["pixel_values"].shape[0] for b in batches) == 6  # the corrupt video is dropped
    assert sorted(torch.cat([b["labels"] for b in batches]).tolist()) == [0, 0, 0, 1, 1, 1]
    for b in batches:
        assert b["bool_masked_pos"].shape == (b["pixel_values"].shape[0], 2 * 4 * 4)
        assert (b["bool_masked_pos"].sum(1) == 24).all()


def test_split_dataset_by_node_gives_disjoint_covering_shards(folder):
    ds = load_video_dataset("videofolder", folder, "train", transform=transform())
    raw = ds.with_format(None)
    shards = [split_dataset_by_node(raw, rank=r, world_size=2) for r in range(2)]
    paths = [set(s["path"]) for s in shards]
    assert paths[0].isdisjoint(paths[1]) and paths[0] | paths[1] == set(raw["path"])
    assert abs(len(shards[0]) - len(shards[1])) <= 1
    # The decoding transform travels with the shard.
    shard = split_dataset_by_node(ds, rank=1, world_size=2)
    assert set(shard[0]) == {"pixel_values", "motion", "labels"}


def masking_strategy(name: str = "random"):
    from mgm_hf.masking import build_masking_strategy

    return build_masking_strategy({"name": name, "mask_ratio": 0.75}, num_frames=4, image_size=32, patch_size=8,
                                  tubelet_size=2)


def per_sample(folder: Path, *, batch_size: int, num_workers: int) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    """``{sample_index: (pixel_values (T, C, H, W), bool_masked_pos (L,))}`` of epoch 1 of a seeded loader."""
    from mgm_hf.data import video_dataset
    from mgm_hf.training.data import seeded_loader

    rows = video_dataset("videofolder", str(folder), "train", None)
    loader, sampler = seeded_loader(rows, transform(masking=masking_strategy(), min_attempts=5), batch_size=batch_size,
                                    seed=7, num_workers=num_workers, timeout=120 if num_workers else 0)
    sampler.set_epoch(1)
    out = {}
    for batch in loader:
        for row, index in enumerate(batch["sample_index"].tolist()):
            out[index] = (batch["pixel_values"][row], batch["bool_masked_pos"][row])
    return out


def test_same_seed_and_index_give_the_same_clip_and_mask_in_any_loader(folder):
    one = per_sample(folder, batch_size=2, num_workers=0)
    other = per_sample(folder, batch_size=3, num_workers=2)  # other neighbours, forked workers
    paths = load_video_dataset("videofolder", folder, "train")["path"]
    assert sorted(one) == sorted(other) == [i for i, p in enumerate(paths) if "broken" not in p]
    for index in one:
        assert torch.equal(one[index][0], other[index][0]) and torch.equal(one[index][1], other[index][1])
    masks = [mask for _, mask in one.values()]
    assert all(mask.shape == (2 * 4 * 4,) and mask.sum() == 24 for mask in masks)
    assert len({tuple(mask.tolist()) for mask in masks}) == len(masks)  # every sample has its own mask


def test_explicit_row_seeds_fix_the_clip_and_mask_whatever_the_neighbours(folder):
    raw = load_video_dataset("videofolder", folder, "train")
    video, other = raw[0]["path"], raw[4]["path"]
    make = transform(masking=masking_strategy(), num_repeats=2)
    rows = make({"path": [other, video, video], "label": [1, 0, 0], "sample_seed": [5, 5, 6]})
    alone = make({"path": [video], "label": [0], "sample_seed": [5]})
    assert rows["bool_masked_pos"][1].shape == (2, 32)  # one mask per repeated view
    for key in ("pixel_values", "bool_masked_pos"):
        assert torch.equal(rows[key][1], alone[key][0])
        assert not torch.equal(rows[key][1], rows[key][2])  # another seed, another crop and mask
    assert not torch.equal(rows["bool_masked_pos"][1][0], rows["bool_masked_pos"][1][1])
    batch = VideoCollator()([{k: v[i] for k, v in rows.items()} for i in range(3)])
    assert torch.equal(batch["bool_masked_pos"], torch.cat(rows["bool_masked_pos"]))


def global_rng_states() -> tuple:
    """Python's, NumPy's and torch's global RNG states, comparable with ==."""
    return random.getstate(), pickle.dumps(np.random.get_state()), torch.get_rng_state().tolist()


def test_the_sample_seed_travels_as_data_and_global_rngs_are_untouched(folder):
    """A row read by the seeded loader is the transform of that row with the sampler's seed for
    (seed, epoch, position) given as a ``sample_seed`` column: reading it neither depends on nor
    changes Python's, NumPy's or torch's global RNG."""
    from mgm_hf.data import video_dataset
    from mgm_hf.training.sampling import EpochSampler, SeededDataset, sample_seed

    rows = video_dataset("videofolder", str(folder), "train", None)
    make = transform(masking=masking_strategy("mgm"), min_attempts=5)
    sampler = EpochSampler(len(rows), seed=7)
    sampler.set_epoch(2)
    keys = list(sampler)
    position = next(p for p, (index, _) in enumerate(keys) if "broken" not in rows[index]["path"])
    index, seed = keys[position]
    assert seed == sample_seed(7, 2, position)
    seeded = SeededDataset(rows, make)

    before = global_rng_states()
    row = seeded[(index, seed)]
    assert global_rng_states() == before
    random.seed(1), np.random.seed(2), torch.manual_seed(3)  # other global states: the same row
    again = seeded[(index, seed)]

    direct = make({**{k: [v] for k, v in rows[index].items()}, "sample_seed": [seed]})
    assert row["sample_index"] == index and row["bool_masked_pos"].sum() == 24
    for key in ("pixel_values", "motion", "bool_masked_pos"):
        assert torch.equal(row[key], direct[key][0]) and torch.equal(again[key], row[key])
    with pytest.raises(ValueError, match="without a format or transform"):
        SeededDataset(video_dataset("videofolder", str(folder), "train", make), make)


def test_row_masks_check_the_geometry_instead_of_skipping_the_video(folder):
    from mgm_hf.masking import build_masking_strategy

    wrong = build_masking_strategy({"name": "tube", "mask_ratio": 0.5}, num_frames=4, image_size=64, patch_size=8,
                                   tubelet_size=2)
    ds = load_video_dataset("videofolder", folder, "train", transform=transform(masking=wrong))
    with pytest.raises(ValueError, match="masking strategy expects"):
        ds[0]
