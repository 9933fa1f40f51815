"""read_clip / read_clips / read_views on real encoded files: frames, indices, sampling, motion
source selection, the motion cache, and the sampling functions."""

from __future__ import annotations

import logging

import av
import numpy as np
import pytest
import torch

from mgm_hf.video import (
    Clip,
    MotionCache,
    dense_indices,
    dense_view_indices,
    fit_to_length,
    probe_video,
    random_start,
    read_clip,
    read_clips,
    read_views,
    segment_indices,
    segment_view_indices,
    write_moving_square_video,
)
from mgm_hf.video import decode as decode_module

SIZE = (96, 128)
NUM = 48
SQUARE = 32


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("decode")
    common = dict(num_frames=NUM, size=SIZE, square_size=SQUARE, velocity=(2.0, 1.0), start=(8, 16))
    return {
        "h264": write_moving_square_video(
            root / "a.mp4", options={"bf": "2", "g": "12", "threads": "1"}, **common
        ),
        "vp9": write_moving_square_video(root / "b.webm", codec="libvpx-vp9", options={"g": "12"}, **common),
        "mpeg2": write_moving_square_video(root / "c.mpg", codec="mpeg2video", options={"g": "12"}, **common),
    }


def _all_frames(path) -> np.ndarray:
    """Independent reference: every frame from a plain front-to-back PyAV decode."""
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(container.streams.video[0])])


@pytest.fixture(scope="module")
def reference_frames(videos):
    return {name: _all_frames(v.path) for name, v in videos.items()}


@pytest.mark.parametrize("name", ["h264", "vp9", "mpeg2"])
def test_probe(videos, name):
    info = probe_video(videos[name].path)
    assert info.num_frames == NUM
    assert (info.height, info.width) == SIZE
    assert info.fps == pytest.approx(25.0)
    assert info.codec == {"h264": "h264", "vp9": "vp9", "mpeg2": "mpeg2video"}[name]


@pytest.mark.parametrize("name", ["h264", "vp9", "mpeg2"])
@pytest.mark.parametrize("start", [0, 5, 30])  # 30 lies after a keyframe: the reader seeks
def test_frames_match_a_plain_decode(videos, reference_frames, name, start):
    clip = read_clip(videos[name].path, num_frames=4, frame_stride=4, start_frame=start, motion="none")
    assert isinstance(clip, Clip)
    expected = np.arange(start, start + 16, 4)
    np.testing.assert_array_equal(clip.frame_indices, expected)
    assert clip.frame_indices.dtype == np.int64
    assert clip.frames.dtype == np.uint8 and clip.frames.shape == (4, *SIZE, 3)
    np.testing.assert_array_equal(clip.frames, reference_frames[name][expected])
    assert clip.motion is None and clip.motion_source == "none"
    assert clip.fps == pytest.approx(25.0) and clip.path == str(videos[name].path)


def test_random_start_is_seeded_and_fits(videos):
    path = videos["h264"].path
    a = read_clip(path, 4, 4, seed=3, motion="none").frame_indices
    b = read_clip(path, 4, 4, seed=3, motion="none").frame_indices
    np.testing.assert_array_equal(a, b)
    starts = {int(read_clip(path, 4, 4, seed=s, motion="none").frame_indices[0]) for s in range(8)}
    assert len(starts) > 1 and max(starts) <= NUM - 13
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    np.testing.assert_array_equal(
        read_clip(path, 4, 4, generator=g1, motion="none").frame_indices,
        read_clip(path, 4, 4, generator=g2, motion="none").frame_indices,
    )


def test_auto_uses_vectors_for_h264_and_mpeg2(videos):
    for name in ("h264", "mpeg2"):
        clip = read_clip(videos[name].path, 8, 2, start_frame=4)
        assert clip.motion_source == "motion_vectors"
        assert clip.motion.shape == (8, SIZE[0] // 8, SIZE[1] // 8, 2) and clip.motion.dtype == np.float32
        x, y = videos[name].positions[clip.frame_indices[3]]
        cells = clip.motion[
            3, int(np.ceil(y / 8)) : int((y + SQUARE) // 8), int(np.ceil(x / 8)) : int((x + SQUARE) // 8)
        ]
        np.testing.assert_allclose(np.median(cells.reshape(-1, 2), 0), (4.0, 2.0), atol=0.75)


def test_vp9_falls_back_to_flow_and_says_so(videos, caplog):
    decode_module._LOGGED_SOURCES.clear()
    with caplog.at_level(logging.INFO, logger="mgm_hf.video.decode"):
        clip = read_clip(videos["vp9"].path, 8, 2, start_frame=4)
        read_clip(videos["vp9"].path, 8, 2, start_frame=6)
    assert clip.motion_source == "optical_flow:dis:medium"
    assert clip.motion.shape == (8, *SIZE, 2)
    x, y = videos["vp9"].positions[clip.frame_indices[3]].astype(int)
    inner = clip.motion[3, y + 8 : y + SQUARE - 8, x + 8 : x + SQUARE - 8]
    np.testing.assert_allclose(np.median(inner.reshape(-1, 2), 0), (4.0, 2.0), atol=0.75)
    logged = [r for r in caplog.records if "optical_flow" in r.getMessage()]
    assert len(logged) == 1  # once per process per source kind


def test_explicit_flow_on_h264(videos):
    clip = read_clip(videos["h264"].path, 6, 2, start_frame=4, motion="optical_flow", flow_method="farneback")
    assert clip.motion_source == "optical_flow:farneback"
    x, y = videos["h264"].positions[clip.frame_indices[2]].astype(int)
    inner = clip.motion[2, y + 8 : y + SQUARE - 8, x + 8 : x + SQUARE - 8]
    np.testing.assert_allclose(np.median(inner.reshape(-1, 2), 0), (4.0, 2.0), atol=0.75)


def test_fallback_none(videos):
    clip = read_clip(videos["vp9"].path, 4, 2, start_frame=0, fallback="none")
    assert clip.motion is None and clip.motion_source == "none"


def test_views_in_one_pass_equal_separate_reads(videos):
    path = videos["h264"].path
    views = read_views(path, num_frames=4, frame_stride=3, num_views=3)
    expected = dense_view_indices(NUM, 4, 3, 3)
    assert [v.frame_indices.tolist() for v in views] == [e.tolist() for e in expected]
    for view, indices in zip(views, expected):
        alone = read_clip(path, 4, 3, start_frame=int(indices[0]))
        np.testing.assert_array_equal(view.frames, alone.frames)
        np.testing.assert_allclose(view.motion, alone.motion, atol=1e-5)


def test_segment_sampling_reads(videos):
    clip = read_clip(videos["h264"].path, 8, sampling="segments", seed=0)
    idx = clip.frame_indices
    assert np.all(np.diff(idx) > 0) and idx[0] < NUM // 8 and idx[-1] >= NUM - NUM // 8
    centre = read_clip(videos["h264"].path, 8, sampling="segments_center")
    np.testing.assert_array_equal(centre.frame_indices, segment_indices(NUM, 8, "center"))
    two = read_views(videos["h264"].path, 8, num_views=2, sampling="segments")
    assert len(two) == 2 and np.all(two[0].frame_indices < two[1].frame_indices)


def test_motion_cache_round_trip(videos, tmp_path):
    path = videos["h264"].path
    cache = MotionCache(tmp_path / "cache", motion="auto", grid=8)
    assert cache.load(path) is None
    assert cache.precompute([path]) == 1
    assert cache.precompute([path]) == 0  # already there
    per_frame, grid, source = cache.load(path)
    assert per_frame.dtype == np.float16 and per_frame.shape == (NUM, SIZE[0] // 8, SIZE[1] // 8, 2)
    assert grid == 8 and source == "motion_vectors"
    assert list((tmp_path / "cache").rglob("*.npz"))
    direct = read_clip(path, 8, 2, start_frame=6)
    cached = read_clip(path, 8, 2, start_frame=6, motion_cache=cache)
    assert cached.motion_source == "motion_vectors"
    np.testing.assert_array_equal(cached.frames, direct.frames)
    np.testing.assert_allclose(cached.motion, direct.motion, atol=0.02)
    # A changed file misses the cache.
    changed = tmp_path / "copy.mp4"
    changed.write_bytes(path.read_bytes())
    assert cache.load(changed) is None


def test_flow_cache_for_vp9(videos, tmp_path):
    path = videos["vp9"].path
    cache = MotionCache(tmp_path / "c2", motion="optical_flow", flow_method="farneback", grid=4)
    cache.precompute([path])
    clip = read_clip(path, 6, 2, start_frame=6, motion_cache=cache)
    assert clip.motion_source == "optical_flow:farneback" and clip.motion.shape == (
        6,
        SIZE[0] // 4,
        SIZE[1] // 4,
        2,
    )
    x, y = videos["vp9"].positions[clip.frame_indices[2]]
    cells = clip.motion[
        2,
        int(np.ceil(y / 4)) + 2 : int((y + SQUARE) // 4) - 2,
        int(np.ceil(x / 4)) + 2 : int((x + SQUARE) // 4) - 2,
    ]
    np.testing.assert_allclose(np.median(cells.reshape(-1, 2), 0), (4.0, 2.0), atol=0.75)


# ------------------------------------------------------------------------------------- sampling
def test_dense_indices_and_random_start():
    np.testing.assert_array_equal(dense_indices(4, 3, 2), [2, 5, 8, 11])
    starts = [random_start(100, 16, 4, s) for s in range(50)]
    assert min(starts) >= 0 and max(starts) <= 100 - 61 and len(set(starts)) > 10
    assert random_start(10, 16, 4, 0) == 0  # cannot fit: start at 0


def test_segment_indices_cover_the_video():
    idx = segment_indices(160, 16, "random", 0)
    assert idx.shape == (16,) and np.all((idx >= np.arange(16) * 10) & (idx < np.arange(1, 17) * 10))
    np.testing.assert_array_equal(segment_indices(160, 16, "center"), np.arange(16) * 10 + 5)
    views = segment_view_indices(160, 16, 2)
    np.testing.assert_array_equal(views[0], np.arange(16) * 10 + 2)
    np.testing.assert_array_equal(views[1], np.arange(16) * 10 + 7)
    assert segment_indices(5, 8, "center").max() <= 4  # short video: frames repeat


def test_dense_views_span_the_video():
    views = dense_view_indices(100, 16, 4, 5)
    assert views[0][0] == 0 and views[-1][-1] == 99 and len(views) == 5
    assert np.all(np.diff([v[0] for v in views]) > 0)


def test_fit_to_length():
    np.testing.assert_array_equal(fit_to_length(np.array([0, 4, 8, 12]), 10, "loop"), [0, 4, 8, 2])
    np.testing.assert_array_equal(fit_to_length(np.array([0, 4, 8, 12]), 10, "repeat_last"), [0, 4, 8, 9])
    with pytest.raises(ValueError):
        fit_to_length(np.array([0]), 10, "bounce")


def test_read_clips_accepts_explicit_indices(videos, reference_frames):
    clips = read_clips(videos["h264"].path, [[3, 9, 10], [40, 41]], motion="none")
    np.testing.assert_array_equal(clips[0].frames, reference_frames["h264"][[3, 9, 10]])
    np.testing.assert_array_equal(clips[1].frames, reference_frames["h264"][[40, 41]])
