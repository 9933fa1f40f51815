"""``mgm-hf prepare``: VP9 in, verified H.264 with motion vectors out, resumable, originals safe."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import av
import numpy as np
import pytest
from av.video.frame import PictureType

from mgm_hf.cli import main
from mgm_hf.video.synthetic import write_moving_square_video

VELOCITY = (3.0, 0.0)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_vectors(path: Path) -> tuple[str, int, list[str], list[np.ndarray]]:
    """(codec, frame count, picture types, motion-vector records per frame) decoded with PyAV."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.options = {"flags2": "+export_mvs"}
        stream.thread_type = "SLICE"
        types, vectors = [], []
        for frame in container.decode(stream):
            types.append(PictureType(frame.pict_type).name)
            mvs = frame.side_data.get("MOTION_VECTORS")
            vectors.append(mvs.to_ndarray() if mvs is not None else np.zeros(0))
        return stream.codec_context.name, len(types), types, vectors


@pytest.fixture
def dataset(tmp_path) -> Path:
    """A small SSv2-like folder: two VP9 WebM videos in a subfolder, plus an annotation file."""
    root = tmp_path / "ssv2"
    for name, start in (("1", (4, 20)), ("2", (8, 30))):
        write_moving_square_video(
            root / "videos" / f"{name}.webm", codec="libvpx-vp9", options={"deadline": "realtime", "cpu-used": "8"},
            num_frames=20, size=(64, 64), square_size=16, velocity=VELOCITY, start=start,
        )
    (root / "labels").mkdir()
    (root / "labels" / "labels.json").write_text(json.dumps({"Moving something": "0"}))
    return root


def test_prepare_vp9_to_h264_with_vectors_and_resume(tmp_path, dataset, capsys):
    before = {p: digest(p) for p in dataset.rglob("*") if p.is_file()}
    _, _, _, vp9_vectors = read_vectors(dataset / "videos" / "1.webm")
    assert all(v.size == 0 for v in vp9_vectors)  # VP9 exports no motion vectors
    out = tmp_path / "ssv2_h264"
    assert main(["prepare", str(dataset), str(out), "--workers", "2"]) == 0
    assert "2 encoded, 0 already done, 0 failed, 1 other file(s) copied" in capsys.readouterr().out
    for name in ("1", "2"):
        codec, count, types, vectors = read_vectors(out / "videos" / f"{name}.mp4")
        assert codec == "h264" and count == 20
        assert sum(v.size > 0 for v in vectors) >= 15  # every non-I frame carries vectors
        assert "B" in types  # default mode keeps B-frames
    assert json.loads((out / "labels" / "labels.json").read_text()) == {"Moving something": "0"}
    assert before == {p: digest(p) for p in dataset.rglob("*") if p.is_file()}  # originals untouched
    assert not list(out.rglob(".*tmp*"))

    # Resume: nothing is redone; an invalid output is re-encoded, alone.
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.mp4")}
    assert main(["prepare", str(dataset), str(out), "--workers", "1"]) == 0
    assert "0 encoded, 2 already done" in capsys.readouterr().out
    assert mtimes == {p: p.stat().st_mtime_ns for p in out.rglob("*.mp4")}
    broken = out / "videos" / "2.mp4"
    broken.write_bytes(broken.read_bytes()[:300])
    assert main(["prepare", str(dataset), str(out), "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert "1 encoded, 1 already done" in captured.out and "re-encoded" in captured.err
    assert read_vectors(broken)[1] == 20
    assert (out / "videos" / "1.mp4").stat().st_mtime_ns == mtimes[out / "videos" / "1.mp4"]


def test_exact_motion_vectors_point_one_frame_back(tmp_path, dataset):
    out = tmp_path / "exact"
    assert main(["prepare", str(dataset / "videos"), str(out), "--workers", "1", "--exact_motion"]) == 0
    _, count, types, vectors = read_vectors(out / "1.mp4")
    assert count == 20 and "B" not in types
    inter = [v for v in vectors if v.size]
    assert all((v["source"] == -1).all() for v in inter)  # every vector references the previous frame
    # The square moves 3 px/frame right: content moved dst - src = -motion / scale.
    dx = np.concatenate([-v["motion_x"] / v["motion_scale"] for v in inter])
    moving = dx[np.abs(dx) > 0.5]
    assert np.median(moving) == pytest.approx(VELOCITY[0], abs=0.5)


def test_refuses_to_overwrite_originals(tmp_path, dataset, capsys):
    assert main(["prepare", str(dataset), str(dataset)]) == 2
    assert "Refusing" in capsys.readouterr().err
    assert main(["prepare", str(dataset), str(dataset / "videos" / "h264")]) == 2
    assert main(["prepare", str(dataset / "videos"), str(dataset)]) == 2
    assert not (dataset / "videos" / "h264").exists()


def test_corrupt_source_fails_cleanly(tmp_path, dataset, capsys):
    bad = dataset / "videos" / "3.webm"
    bad.write_bytes(b"\x1a\x45\xdf\xa3 not really a webm")
    out = tmp_path / "out"
    assert main(["prepare", str(dataset / "videos"), str(out), "--workers", "1"]) == 1
    captured = capsys.readouterr()
    assert "FAILED" in captured.err and "3.webm" in captured.err
    assert "2 encoded" in captured.out
    assert sorted(p.name for p in out.iterdir()) == ["1.mp4", "2.mp4"]  # no output, no temp file


def test_prepared_ssv2_loads_and_decodes_with_motion_vectors(tmp_path, dataset):
    """End to end: VP9 SSv2 → prepare → load_video_dataset("ssv2") finds the .mp4 files and the
    decoded rows carry motion vectors pointing the way the square moves."""
    import torch

    from mgm_hf.data import VideoTransform, load_video_dataset, pretrain_transform

    train = [{"id": i, "label": "moving a square", "template": "Moving [something]", "placeholders": ["a square"]}
             for i in ("1", "2")]
    (dataset / "labels" / "train.json").write_text(json.dumps(train))
    out = tmp_path / "ssv2_h264"
    assert main(["prepare", str(dataset), str(out), "--workers", "1", "--exact_motion"]) == 0
    # scales=(1.0,): the whole frame, resized to 32, so the square is in view whatever the seed.
    transform = VideoTransform(pretrain_transform(32, flip=False, scales=(1.0,)), num_frames=4, frame_stride=2,
                               motion="motion_vectors")
    ds = load_video_dataset("ssv2", out, "train", video_dir=out / "videos", transform=transform)
    torch.manual_seed(0)
    for row in ds:
        assert row["pixel_values"].shape == (4, 3, 32, 32)
        dx = row["motion"][1:, ..., 0]
        assert dx.max() > 1.0 and dx.min() > -0.5  # the square moves right
    assert transform.failures.num_failures == 0
