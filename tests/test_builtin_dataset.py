"""The built-in motion dataset: real H.264 clips whose label is the motion, cached atomically."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import numpy as np
import pytest

from mgm_hf.data import load_video_dataset
from mgm_hf.data.builtin_motion import DIRECTIONS, BuiltinMotionSpec, builtin_motion_dataset
from mgm_hf.video import read_clip

SPEC = BuiltinMotionSpec(train_per_class=2, validation_per_class=1, num_frames=16, size=32, square_size=10)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return builtin_motion_dataset(SPEC, cache_dir=tmp_path_factory.mktemp("cache"))


def test_videofolder_layout_loads_with_labels(root: Path) -> None:
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["classes"] == sorted(DIRECTIONS)
    train = load_video_dataset("videofolder", root, "train")
    validation = load_video_dataset("videofolder", root, "validation")
    assert len(train) == 2 * len(DIRECTIONS) and len(validation) == len(DIRECTIONS)
    assert train.features["label"].names == sorted(DIRECTIONS)
    assert sorted(set(train["label"])) == list(range(len(DIRECTIONS)))
    assert all(path.endswith(".mp4") for path in train["path"])


def test_same_spec_gives_identical_files(root: Path, tmp_path: Path) -> None:
    again = builtin_motion_dataset(SPEC, cache_dir=tmp_path)
    files = sorted(p.relative_to(root) for p in root.rglob("*.mp4"))
    assert files == sorted(p.relative_to(again) for p in again.rglob("*.mp4"))
    assert all((root / f).read_bytes() == (again / f).read_bytes() for f in files)
    # A different seed is a different dataset in a different folder.
    other = builtin_motion_dataset(BuiltinMotionSpec(**{**SPEC.__dict__, "seed": 1}), cache_dir=tmp_path)
    assert other != again


def test_decoded_motion_matches_the_label(root: Path) -> None:
    manifest = json.loads((root / "manifest.json").read_text())
    for entry in manifest["files"]["train"]:
        clip = read_clip(root / entry["path"], num_frames=8, frame_stride=1, start_frame=4, motion="motion_vectors")
        assert clip.motion_source == "motion_vectors"
        moving = np.abs(clip.motion[1:]).sum(-1) > 0.5
        if entry["label"] == "static":
            assert moving.mean() < 0.05, entry
            continue
        mean = clip.motion[1:][moving].mean(0)  # (dx, dy) over the moving cells
        expected = np.asarray(entry["velocity"])
        assert np.dot(mean, expected) / (np.linalg.norm(mean) * np.linalg.norm(expected)) > 0.9, (entry, mean)


def _generate(cache: str, queue: multiprocessing.Queue) -> None:
    queue.put(str(builtin_motion_dataset(SPEC, cache_dir=cache)))


def test_concurrent_generation_is_atomic(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_generate, args=(str(tmp_path), queue)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    roots = {queue.get(timeout=5) for _ in workers}
    assert len(roots) == 1 and all(w.exitcode == 0 for w in workers)
    assert [p.name for p in tmp_path.iterdir()] == [Path(roots.pop()).name]  # no temp folders left


def test_invalid_specs_raise() -> None:
    with pytest.raises(ValueError, match="Unknown builtin classes"):
        BuiltinMotionSpec(classes=("spinning",))
    with pytest.raises(ValueError, match="even"):
        BuiltinMotionSpec(size=33)
