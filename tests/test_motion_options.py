"""MotionOptions carried from VideoTransform through read_clip to the decoder; the all-intra
fallback; streams whose SPS makes vectors exact skip the reference search."""

from __future__ import annotations

import dataclasses

import av
import numpy as np
import pytest

from mgm_hf.data import VideoTransform
from mgm_hf.video import MotionOptions, VideoReadError, read_clip, write_moving_square_video
from mgm_hf.video.h264_sps import exact_motion_stream, parse_sps, sps_from_extradata
from mgm_hf.video.motion_vectors import stream_needs_search

SIZE = (64, 96)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("options")
    common = {"num_frames": 24, "size": SIZE, "square_size": 24, "velocity": (2.0, 1.0), "start": (8, 8)}
    return {
        "defaults": write_moving_square_video(root / "defaults.mp4", options={"g": "12", "threads": "1"}, **common),
        "exact": write_moving_square_video(
            root / "exact.mp4", options={"bf": "0", "refs": "1", "g": "12", "threads": "1"}, **common
        ),
        "intra": write_moving_square_video(root / "intra.mp4", options={"g": "1", "threads": "1"}, **common),
    }


def test_options_are_validated_and_frozen():
    options = MotionOptions(mv_grid=16)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.mv_grid = 8
    for bad in ({"motion": "vectors"}, {"mv_grid": 0}, {"max_ref_distance": 2.5}, {"mv_reference": "near"},
                {"fallback": "zeros"}, {"thread_type": "frame"}, {"flow_method": 3}):
        with pytest.raises(ValueError):
            MotionOptions(**bad)
    with pytest.raises(TypeError, match="unknown motion option"):
        MotionOptions.from_kwargs(options, grid=8)
    merged = MotionOptions.from_kwargs(options, motion="optical_flow", mv_grid=None)
    assert merged == MotionOptions(motion="optical_flow", mv_grid=16)


def test_read_clip_takes_motion_options_or_keywords(videos):
    path = videos["defaults"].path
    by_options = read_clip(path, 6, 2, start_frame=4, motion_options=MotionOptions(mv_grid=16))
    by_keywords = read_clip(path, 6, 2, start_frame=4, mv_grid=16)
    assert by_options.motion.shape == (6, SIZE[0] // 16, SIZE[1] // 16, 2)
    np.testing.assert_array_equal(by_options.motion, by_keywords.motion)
    # A keyword overrides the options.
    overridden = read_clip(path, 6, 2, start_frame=4, motion_options=MotionOptions(motion="none"), motion="auto")
    assert overridden.motion_source == "motion_vectors"


def test_video_transform_validates_once_and_passes_options(videos):
    with pytest.raises(ValueError, match="mv_grid"):
        VideoTransform(None, num_frames=4, frame_stride=2, read_kwargs={"mv_grid": 0})
    transform = VideoTransform(None, num_frames=4, frame_stride=2, read_kwargs={"mv_grid": 16, "short_clip": "loop"})
    assert transform.motion_options == MotionOptions(mv_grid=16) and transform.read_kwargs == {"short_clip": "loop"}
    out = transform({"path": [str(videos["defaults"].path)], "label": [0]})
    assert out["motion"][0].shape == (4, SIZE[0] // 16, SIZE[1] // 16, 2)
    flow = VideoTransform(None, num_frames=4, frame_stride=2, motion_options=MotionOptions(motion="optical_flow"))
    assert flow.motion == "optical_flow"
    assert flow({"path": [str(videos["defaults"].path)], "label": [0]})["motion"][0].shape == (4, *SIZE, 2)


def test_all_intra_stream_follows_the_fallback(videos):
    path = videos["intra"].path
    assert read_clip(path, 4, 2, start_frame=2).motion_source.startswith("optical_flow")
    assert read_clip(path, 4, 2, start_frame=2, fallback="none").motion is None
    with pytest.raises(VideoReadError, match="no motion vectors"):
        read_clip(path, 4, 2, start_frame=2, fallback="error")


def test_sps_tells_exact_streams(videos):
    def facts(name):
        with av.open(str(videos[name].path)) as container:
            stream = container.streams.video[0]
            return stream_needs_search(stream), [parse_sps(n) for n in sps_from_extradata(stream.codec_context.extradata)]

    needs, (sps,) = facts("defaults")
    assert needs and sps.max_num_ref_frames > 1 and sps.pic_order_cnt_type == 0
    needs, (sps,) = facts("exact")
    assert not needs and sps.max_num_ref_frames == 1 and sps.one_reference_in_order
    assert not exact_motion_stream("h264", None) and not exact_motion_stream("mpeg4", b"\x00\x00\x01\xb0")
    assert not exact_motion_stream("h264", b"\x01\x64\x00\x1f\xff\xe1\x00\x02\x67\xff")  # unreadable SPS


def test_exact_stream_gives_adjacent_motion_without_search(videos):
    """On a one-reference, no-reordering stream the search is skipped: the result is exactly the
    vectors taken as one-frame motion, and that is the true motion."""
    path = videos["exact"].path
    searched = read_clip(path, 8, 2, start_frame=4, motion="motion_vectors")
    adjacent = read_clip(path, 8, 2, start_frame=4, motion="motion_vectors", mv_reference="adjacent")
    np.testing.assert_array_equal(searched.motion, adjacent.motion)
    x, y = videos["exact"].positions[searched.frame_indices[3]]
    cells = searched.motion[3, int(np.ceil(y / 8)) : int((y + 24) // 8), int(np.ceil(x / 8)) : int((x + 24) // 8)]
    np.testing.assert_allclose(np.median(cells.reshape(-1, 2), axis=0), (4.0, 2.0), atol=0.75)
