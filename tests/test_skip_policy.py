"""What VideoTransform skips and what it says: only a bad *file* (VideoReadError) is a counted skip;
an error of a transform, a setting or our own code propagates out of the dataset and the DataLoader;
videos smaller than the crop are counted as upscaled, with one warning."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from mgm_hf.data import (
    JointTransform,
    SpatialCrop,
    VideoCollator,
    VideoTransform,
    eval_transforms,
    finetune_transform,
    load_video_dataset,
    pretrain_transform,
)
from mgm_hf.video.synthetic import write_moving_square_video


def write_clip(path: Path, size: tuple[int, int] = (48, 64)) -> Path:
    """A real 12-frame H.264 video of ``size`` (H, W) with a moving square."""
    square = min(size) // 3
    return write_moving_square_video(
        path, num_frames=12, size=size, square_size=square, velocity=(1.0, 0.0), start=(2, 2)
    ).path


def video_transform(view, **kwargs) -> VideoTransform:
    options = {"num_frames": 4, "frame_stride": 2, "motion": "none", "min_attempts": 1, "max_failure_rate": 1.0}
    return VideoTransform(view, **{**options, **kwargs})


@pytest.fixture(scope="module")
def good_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("good")
    for label in ("a", "b"):
        write_clip(root / "train" / label / f"{label}.mp4")
    return root


class FailingTransform(JointTransform):
    """A transform with a bug: raises ``error`` on every clip."""

    def __init__(self, error: type[Exception]) -> None:
        self.error = error

    def __call__(self, frames, motion=None, generator=None):
        raise self.error("bug in a transform")


# ------------------------------------------------------------------------ bugs propagate
@pytest.mark.parametrize("error", [ValueError, RuntimeError])
def test_error_in_a_transform_propagates_from_getitem(good_folder, error):
    transform = video_transform(FailingTransform(error))
    ds = load_video_dataset("videofolder", good_folder, "train", transform=transform)
    with pytest.raises(error, match="bug in a transform"):
        ds[0]
    assert transform.failures.num_failures == 0


def test_error_in_a_transform_propagates_from_dataloader_workers(good_folder):
    transform = video_transform(FailingTransform(RuntimeError))
    ds = load_video_dataset("videofolder", good_folder, "train", transform=transform)
    loader = DataLoader(ds, batch_size=2, collate_fn=VideoCollator(), num_workers=1)
    with pytest.raises(RuntimeError, match="bug in a transform"):
        next(iter(loader))


def test_crop_larger_than_the_frame_without_resize_is_an_error_not_a_bad_video(good_folder):
    # A setting error (a 64 crop of 48×64 frames with no resize before it) must not be counted as bad videos.
    transform = video_transform(SpatialCrop(64))
    ds = load_video_dataset("videofolder", good_folder, "train", transform=transform)
    with pytest.raises(ValueError, match="larger than the short side"):
        ds[0]
    assert transform.failures.num_failures == 0


def test_wrong_reader_setting_is_an_error_not_a_bad_video(good_folder):
    # 4 frames × stride 8 run past the 12-frame videos, so the (misspelt) short-clip policy is used.
    transform = video_transform(None, frame_stride=8, read_kwargs={"short_clip": "bounce"})
    ds = load_video_dataset("videofolder", good_folder, "train", transform=transform)
    with pytest.raises(ValueError, match="short_clip must be"):
        ds[0]
    assert transform.failures.num_failures == 0


# ------------------------------------------------------------------ bad files are skipped
def test_truncated_corrupt_and_undecodable_files_are_skipped_and_counted(tmp_path, caplog):
    root = tmp_path / "mixed"
    good = write_clip(root / "train" / "a" / "good.mp4")
    data = good.read_bytes()
    (root / "train" / "b").mkdir(parents=True)
    (root / "train" / "b" / "cut.mp4").write_bytes(data[: len(data) // 2])
    mkv = write_clip(tmp_path / "source.mkv").read_bytes()
    (root / "train" / "b" / "cut.mkv").write_bytes(mkv[: int(len(mkv) * 0.85)])
    # A codec id FFmpeg has no decoder for (PyAV gives the stream no codec context).
    (root / "train" / "b" / "unknown_codec.mkv").write_bytes(mkv.replace(b"V_MPEG4/ISO/AVC", b"V_QQQQQ/ISO/AVC"))

    transform = video_transform(pretrain_transform(size=32, flip=False))
    ds = load_video_dataset("videofolder", root, "train", transform=transform)
    paths = [Path(p).name for p in ds.with_format(None)["path"]]
    rows = [ds[i] for i in range(len(ds))]
    skipped = sorted(name for name, row in zip(paths, rows) if row["pixel_values"] is None)
    assert skipped == ["cut.mkv", "cut.mp4", "unknown_codec.mkv"]
    assert transform.failures.attempts == 4 and transform.failures.num_failures == 3
    reasons = dict((Path(p).name, r) for p, r in transform.failures.failures)
    assert "no decoder" in reasons["unknown_codec.mkv"]
    assert sum("Skipping video" in r.getMessage() for r in caplog.records) == 3


# --------------------------------------------------------------------- upscaled videos
@pytest.fixture(scope="module")
def small_and_large(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sizes")
    write_clip(root / "train" / "small" / "small_0.mp4", size=(24, 32))
    write_clip(root / "train" / "small" / "small_1.mp4", size=(24, 32))
    write_clip(root / "train" / "large" / "large.mp4", size=(64, 80))
    return root


@pytest.mark.parametrize(
    "view",
    [pretrain_transform(size=64, flip=False), finetune_transform(size=64, flip=False), eval_transforms(64, 1)[0]],
    ids=["pretrain", "finetune", "eval"],
)
def test_videos_smaller_than_the_crop_are_counted_with_one_warning(small_and_large, caplog, view):
    transform = video_transform(view)
    ds = load_video_dataset("videofolder", small_and_large, "train", transform=transform)
    paths = [Path(p).name for p in ds.with_format(None)["path"]]
    small = paths.index("small_0.mp4")
    torch.manual_seed(0)
    with caplog.at_level(logging.WARNING, logger="mgm_hf"):
        rows = [ds[i] for i in range(len(ds))] + [ds[small]]  # 4 reads, 3 of them small videos
    assert all(row["pixel_values"].shape == (4, 3, 64, 64) for row in rows)
    warnings = [r.getMessage() for r in caplog.records if "upscaled" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "small_" in warnings[0] and "24×32" in warnings[0] and "64×64 crop" in warnings[0]
    assert transform.failures.num_upscaled == 3
    assert transform.failures.summary() == "4 videos read: 0 skipped (file unreadable), 3 upscaled (smaller than the crop)"
