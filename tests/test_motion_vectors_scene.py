"""Motion vectors against the known motion of a harder scene: four textured objects at different
velocities over a panning textured background, encoded with x264's defaults (3 B-frames,
b-pyramid, 3 references), so vectors reach references several frames away in both directions.

Every grid cell whose neighbourhood belongs to one object (or the background) over the whole step
is checked against the true motion; truth comes from the rendered scene, never from the code under
test.
"""

from __future__ import annotations

import av
import numpy as np
import pytest
from scipy.ndimage import maximum_filter, minimum_filter

from mgm_hf.video import read_clip
from mgm_hf.video.synthetic_scene import write_panning_scene_video

GRID = 8
NUM = 40
BORDER = 16  # px: content entering at the frame's edges is not checked


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    path = tmp_path_factory.mktemp("scene") / "panning.mp4"
    return write_panning_scene_video(path, num_frames=NUM, size=(128, 160), options={"threads": "1"})


def _checked_errors(scene, stride: int, **read_kwargs) -> np.ndarray:
    """Max-abs error (px) of every checked cell of every sampled frame."""
    num_frames = (NUM - 2 * stride) // stride if stride > 1 else NUM - 4
    clip = read_clip(scene.path, num_frames, stride, start_frame=stride, motion="motion_vectors", **read_kwargs)
    assert clip.motion_source == "motion_vectors"
    height, width = scene.owner.shape[1:]
    reach = GRID + int(np.ceil(np.abs(scene.motion).max() * stride))  # how far a block's content came from
    errors = []
    for t, index in enumerate(clip.frame_indices):
        uniform = np.ones((height, width), bool)
        for j in range(index - stride, index + 1):
            owner = scene.owner[j].astype(np.int16)
            size = 2 * reach + 1
            same = minimum_filter(owner, size=size, mode="nearest") == maximum_filter(owner, size=size, mode="nearest")
            uniform &= same & (owner == scene.owner[index])
        uniform[:BORDER] = uniform[-BORDER:] = False
        uniform[:, :BORDER] = uniform[:, -BORDER:] = False
        truth = scene.motion[index - stride + 1 : index + 1].sum(axis=0)  # (H, W, 2) over the stride
        cells = uniform.reshape(height // GRID, GRID, width // GRID, GRID).all(axis=(1, 3))
        centre = truth[GRID // 2 :: GRID, GRID // 2 :: GRID]
        errors.append(np.abs(clip.motion[t] - centre).max(axis=-1)[cells])
    return np.concatenate(errors)


def test_scene_uses_b_frames_and_far_references(scene):
    with av.open(str(scene.path)) as container:
        types = ["?IPB"[int(f.pict_type)] for f in container.decode(container.streams.video[0])]
    assert types.count("B") >= NUM // 3 and "P" in types
    # Trusting every vector to span one frame is far off on this stream: the search is needed.
    adjacent = _checked_errors(scene, 1, mv_reference="adjacent")
    assert np.mean(adjacent <= 0.5) < 0.6


# x264's output here varies from one encode of the same frames to the next (threads=1 or not), and
# with it the vectors: over 8 encodes the share within 0.5 px was 0.93-0.98 at stride 1 and
# 0.86-0.96 at stride 2 (the same for the previous numpy search), within 1 px 0.998-1.0 and
# 0.993-1.0. Trusting every vector to span one frame gives 0.45 and 0.06 within 0.5 px.
@pytest.mark.parametrize(("stride", "half_pixel", "one_pixel"), [(1, 0.90, 0.99), (2, 0.80, 0.98)])
def test_every_checked_block_follows_the_true_motion(scene, stride, half_pixel, one_pixel):
    errors = _checked_errors(scene, stride)
    assert errors.size > (1000 if stride == 1 else 400)  # objects and background, most frames
    within = float(np.mean(errors <= 0.5))
    assert within >= half_pixel, f"{within:.3f} of {errors.size} cells within 0.5 px (stride {stride})"
    within = float(np.mean(errors <= 1.0))
    assert within >= one_pixel, f"{within:.3f} of {errors.size} cells within 1 px (stride {stride})"
