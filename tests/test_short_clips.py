"""Videos shorter than the clip: under every short-clip policy, ``motion[t]`` is the displacement
from returned frame t-1 to returned frame t, including a loop's jump back to an earlier frame.

Truth comes from the synthetic square's known positions at the returned frame indices, never from
the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from mgm_hf.video import MotionCache, read_clip, read_clips, write_moving_square_video
from mgm_hf.video.motion_ops import motion_between_frames
from mgm_hf.video.sampling import SHORT_CLIP_POLICIES

SIZE = (64, 96)
SQUARE = 32
VELOCITY = (3.0, 1.0)
GRID = 8
TOL = 0.75  # px, median over the square's interior, as in the other known-motion tests
FLOW_MARGIN = 8  # px left out at the square's edges for optical flow, as in test_video_decode.py
# One reference frame and no B-frames: each frame's vectors span exactly one frame.
EXACT_MOTION = {"bf": "0", "refs": "1", "g": "12", "threads": "1"}


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("short")
    return {
        n: write_moving_square_video(
            root / f"short{n}.mp4",
            options=EXACT_MOTION,
            num_frames=n,
            size=SIZE,
            square_size=SQUARE,
            velocity=VELOCITY,
            start=(20, 16),
            seed=n,
        )
        for n in (3, 5)
    }


def _square_median(motion_t: np.ndarray, position: np.ndarray, margin: int) -> np.ndarray:
    """Median motion over the cells lying fully inside the square, ``margin`` px in from its edges."""
    cell = SIZE[0] // motion_t.shape[0]
    x, y = position
    cells = motion_t[
        int(np.ceil((y + margin) / cell)) : int((y + SQUARE - margin) // cell),
        int(np.ceil((x + margin) / cell)) : int((x + SQUARE - margin) // cell),
    ]
    assert cells.size > 0
    return np.median(cells.reshape(-1, 2), axis=0)


def _errors(clip, video, margin: int) -> list[tuple[int, int, list[float], list[float]]]:
    """(t, frame, measured, truth) for every t off by more than TOL; truth is the square's
    displacement between the returned frames t-1 and t (t = 0 starts the clip at frame 0: zero)."""
    indices = clip.frame_indices
    bad = []
    for t, index in enumerate(indices):
        truth = video.positions[index] - video.positions[indices[t - 1] if t > 0 else index]
        measured = _square_median(clip.motion[t], video.positions[index], margin)
        if np.abs(measured - truth).max() > TOL:
            bad.append((t, int(index), measured.round(2).tolist(), truth.tolist()))
    return bad


def test_a_jump_back_in_a_translation_is_the_negated_translation():
    steps = np.zeros((4, 6, 9, 2), np.float32)
    steps[1:] = (5.0, -2.0)  # everything moves (5, -2) px per frame
    for cell in (GRID, 1):
        motion = motion_between_frames(steps, np.array([0, 3, 2]), np.array([3, 0, 2]), cell)
        np.testing.assert_allclose(motion[0], np.broadcast_to((15.0, -6.0), (6, 9, 2)))
        np.testing.assert_allclose(motion[1], np.broadcast_to((-15.0, 6.0), (6, 9, 2)))
        assert np.all(motion[2] == 0)


def test_the_frame_before_the_clip_is_mapped_back_too(videos):
    """Indices that start past the end: the motion of the first frame starts at the frame one step
    before it, mapped into the video the same way (4 and 6 loop to 1 and 0, the frame before is 2)."""
    video = videos[3]
    clip = read_clips(video.path, [[4, 6]], motion="motion_vectors", first_step=2)[0]
    np.testing.assert_array_equal(clip.frame_indices, [1, 0])
    for t, (before, index) in enumerate([(2, 1), (1, 0)]):
        truth = video.positions[index] - video.positions[before]
        np.testing.assert_allclose(_square_median(clip.motion[t], video.positions[index], 0), truth, atol=TOL)


def test_a_three_frame_loop_returns_the_frames_of_the_issue(videos):
    clip = read_clip(videos[3].path, 8, 2, start_frame=0, motion="none", short_clip="loop")
    np.testing.assert_array_equal(clip.frame_indices, [0, 2, 1, 0, 2, 1, 0, 2])


@pytest.mark.parametrize("policy", SHORT_CLIP_POLICIES)
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("frames", [3, 5])
@pytest.mark.parametrize("motion", ["motion_vectors", "optical_flow"])
def test_motion_follows_the_returned_frames(videos, motion, frames, stride, policy):
    video = videos[frames]
    clip = read_clip(
        video.path, 8, stride, start_frame=0, motion=motion, short_clip=policy, flow_method="dis"
    )
    assert clip.motion_source.startswith(motion)
    assert clip.frame_indices.max() == frames - 1  # the clip did run past the end
    assert not _errors(clip, video, 0 if motion == "motion_vectors" else FLOW_MARGIN)


@pytest.mark.parametrize("motion", ["motion_vectors", "optical_flow"])
def test_repeated_last_frames_have_zero_motion(videos, motion):
    clip = read_clip(videos[3].path, 8, 2, start_frame=0, motion=motion, short_clip="repeat_last")
    np.testing.assert_array_equal(clip.frame_indices, [0, 2, 2, 2, 2, 2, 2, 2])
    assert np.all(clip.motion[2:] == 0)


@pytest.mark.parametrize(
    ("motion", "grid"),
    [("motion_vectors", GRID), ("optical_flow", 4)],
    ids=["motion_vectors", "optical_flow"],
)
def test_motion_cache_follows_the_returned_frames(videos, tmp_path, motion, grid):
    video = videos[5]
    cache = MotionCache(tmp_path / "cache", motion=motion, flow_method="dis", grid=grid)
    assert cache.precompute([video.path]) == 1 and cache.load(video.path) is not None
    clip = read_clip(video.path, 8, 2, start_frame=0, motion=motion, short_clip="loop", motion_cache=cache)
    np.testing.assert_array_equal(clip.frame_indices, [0, 2, 4, 1, 3, 0, 2, 4])
    assert clip.motion.shape == (8, SIZE[0] // grid, SIZE[1] // grid, 2)
    assert not _errors(clip, video, 0 if motion == "motion_vectors" else FLOW_MARGIN)
