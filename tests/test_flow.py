"""Optical-flow backends recover a known translation with the sign and pixel placement of the
motion convention: ``motion[t]`` lives at frame t's pixels and points along the motion."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from mgm_hf.video import (
    available_flow_backends,
    estimate_flow,
    estimate_flow_batch,
    get_flow_backend,
    moving_square_frames,
    register_flow_backend,
)
from mgm_hf.video.synthetic import random_texture

SIZE = (128, 128)
SQUARE = 48
TOL = 0.75


def _square_median(field: np.ndarray, position: np.ndarray, margin: int = 12) -> np.ndarray:
    x, y = np.floor(position).astype(int)
    inner = field[y + margin : y + SQUARE - margin, x + margin : x + SQUARE - margin]
    return np.median(inner.reshape(-1, 2), axis=0)


def _has_tvl1() -> bool:
    return hasattr(cv2, "optflow") and hasattr(cv2.optflow, "DualTVL1OpticalFlow_create")


def _has_torchvision() -> bool:
    try:
        import torchvision  # noqa: F401
    except ImportError:
        return False
    return True


FAST_METHODS = ["dis", "dis:fast", "dis:ultrafast", "dis:medium", "farneback"]


@pytest.mark.parametrize("method", FAST_METHODS)
@pytest.mark.parametrize("velocity", [(3.0, 1.0), (-2.0, -2.5)])
def test_backend_recovers_known_translation_with_sign(method, velocity):
    frames, positions = moving_square_frames(6, SIZE, SQUARE, velocity, start=(40, 40), seed=3)
    flow = estimate_flow(frames, method)
    assert flow.shape == (6, *SIZE, 2) and flow.dtype == np.float32
    np.testing.assert_array_equal(flow[0], 0.0)
    for t in range(1, 6):
        np.testing.assert_allclose(_square_median(flow[t], positions[t]), velocity, atol=TOL)
        assert np.abs(flow[t][:16, :16]).max() < 0.5  # static background far from the square


@pytest.mark.parametrize("method", ["dis", "dis:fast", "farneback"])
def test_flow_lives_at_the_later_frames_pixels(method):
    """A zoom by s about the centre: content at x in frame t came from c + (x - c) / s in frame t-1,
    so at frame t's pixels the motion is (x - c)(1 - 1/s); at frame t-1's pixels it would be
    (x - c)(s - 1). The fitted slope tells which placement a backend uses (and the sign)."""
    size, scale, centre = 160, 1.2, 79.5
    first = random_texture(size, size, seed=0)
    zoom = np.float32([[scale, 0, centre * (1 - scale)], [0, scale, centre * (1 - scale)]])
    second = cv2.warpAffine(first, zoom, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    flow = estimate_flow(np.stack([first, second]), method)[1]
    ys, xs = np.mgrid[30:130, 30:130]
    slope_x = np.polyfit((xs - centre).ravel(), flow[30:130, 30:130, 0].ravel(), 1)[0]
    slope_y = np.polyfit((ys - centre).ravel(), flow[30:130, 30:130, 1].ravel(), 1)[0]
    expected = 1 - 1 / scale  # 0.1667; the other placement would give 0.2
    assert abs(slope_x - expected) < 0.008
    assert abs(slope_y - expected) < 0.008


def test_estimate_flow_batch_on_normalised_pixels():
    clips, positions = [], []
    for velocity, seed in (((3.0, 0.0), 5), ((0.0, -2.0), 6)):
        frames, pos = moving_square_frames(4, SIZE, SQUARE, velocity, start=(40, 50), seed=seed)
        clips.append(frames)
        positions.append((pos, velocity))
    x = torch.from_numpy(np.stack(clips)).permute(0, 1, 4, 2, 3).float() / 255.0  # (B, T, C, H, W)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 1, 3, 1, 1)
    flow = estimate_flow_batch((x - mean) / std, method="dis")
    assert flow.shape == (2, 4, *SIZE, 2) and flow.dtype == torch.float32
    for b, (pos, velocity) in enumerate(positions):
        assert torch.all(flow[b, 0] == 0)
        for t in range(1, 4):
            np.testing.assert_allclose(_square_median(flow[b, t].numpy(), pos[t]), velocity, atol=TOL)


def test_registry():
    assert {"dis", "farneback", "tvl1", "raft"} <= set(available_flow_backends())
    assert get_flow_backend("dis") is get_flow_backend("dis")
    assert get_flow_backend("dis:fast").name == "dis:fast"
    with pytest.raises(KeyError, match="unknown flow backend"):
        get_flow_backend("nope")
    with pytest.raises(ValueError, match="already registered"):
        register_flow_backend("dis", lambda: None)
    with pytest.raises(ValueError, match="preset"):
        get_flow_backend("dis:slowest")


@pytest.mark.skipif(_has_tvl1(), reason="opencv-contrib installed: the accuracy test runs instead")
def test_tvl1_without_contrib_says_what_to_install():
    with pytest.raises(ImportError, match="opencv-contrib"):
        get_flow_backend("tvl1")


@pytest.mark.skipif(not _has_tvl1(), reason="needs opencv-contrib (cv2.optflow)")
def test_tvl1_recovers_translation():
    frames, positions = moving_square_frames(3, (64, 64), 24, (2.0, -1.0), start=(16, 24), seed=7)
    flow = estimate_flow(frames, "tvl1")
    x, y = positions[2].astype(int)
    np.testing.assert_allclose(
        np.median(flow[2, y + 6 : y + 18, x + 6 : x + 18].reshape(-1, 2), 0), (2.0, -1.0), atol=TOL
    )


@pytest.mark.skipif(_has_torchvision(), reason="torchvision installed")
def test_raft_without_torchvision_says_what_to_install():
    with pytest.raises(ImportError, match="torchvision"):
        get_flow_backend("raft")
