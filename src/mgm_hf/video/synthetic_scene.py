"""A harder known-motion test scene: several textured objects at different velocities over a panning
textured background (every block moves, references several frames away are all plausible).

Sizes are ``(height, width)``; positions and velocities are ``(x, y)`` in pixels (per frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .synthetic import random_texture, write_video

__all__ = ["PanningScene", "panning_scene_frames", "write_panning_scene_video"]

#: (top-left start (x, y) as a share of the frame, velocity (x, y) px/frame, side as a share of the height)
DEFAULT_OBJECTS: tuple[tuple[tuple[float, float], tuple[float, float], float], ...] = (
    ((0.05, 0.08), (2.5, 0.5), 0.30),
    ((0.70, 0.12), (-1.5, 1.25), 0.26),
    ((0.10, 0.62), (0.75, -1.0), 0.28),
    ((0.62, 0.60), (-3.25, -0.75), 0.24),
)


@dataclass
class PanningScene:
    """A written panning scene and its ground truth.

    Attributes:
        path: the video file.
        motion: float32 ``(T, H, W, 2)``: per-pixel motion of frame t since frame t-1 (frame 0: the
            motion the scene would have had, i.e. the same velocities).
        owner: int8 ``(T, H, W)``: which object covers each pixel (-1 = background).
        frames: uint8 ``(T, H, W, 3)`` as encoded (before compression).
    """

    path: Path
    motion: np.ndarray
    owner: np.ndarray
    frames: np.ndarray


def panning_scene_frames(
    num_frames: int = 32,
    size: tuple[int, int] = (128, 160),
    pan: tuple[float, float] = (1.0, 0.5),
    objects: tuple[tuple[tuple[float, float], tuple[float, float], float], ...] = DEFAULT_OBJECTS,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Renders the scene: the background texture translates by ``pan`` px per frame (a camera pan;
    sub-pixel steps warped bilinearly) and each object (a textured square, drawn in list order, later
    ones on top) translates by its own velocity.

    Returns:
        ``frames`` uint8 ``(T, H, W, 3)``, true ``motion`` float32 ``(T, H, W, 2)`` and ``owner`` int8
        ``(T, H, W)`` (see :class:`PanningScene`).
    """
    height, width = size
    pan_x, pan_y = pan
    margin = int(np.ceil(max(abs(pan_x), abs(pan_y)) * num_frames)) + 2
    big = random_texture(height + 2 * margin, width + 2 * margin, sigma=1.5, seed=seed).astype(np.float32)
    textures = [
        random_texture(max(int(side * height), 8), max(int(side * height), 8), sigma=1.0, seed=seed + 1 + i)
        .astype(np.float32)
        for i, (_, _, side) in enumerate(objects)
    ]
    warp = {"dsize": (width, height), "flags": cv2.INTER_LINEAR, "borderMode": cv2.BORDER_CONSTANT,
            "borderValue": 0}
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    motion = np.empty((num_frames, height, width, 2), np.float32)
    owner = np.empty((num_frames, height, width), np.int8)
    for t in range(num_frames):
        # The window's content moves by +pan per frame: sample the big texture at x - t * pan.
        shift = np.float32([[1, 0, -margin + t * pan_x], [0, 1, -margin + t * pan_y]])
        image = cv2.warpAffine(big, shift, **warp)
        motion[t] = (pan_x, pan_y)
        owner[t] = -1
        for i, (((sx, sy), (vx, vy), _), texture) in enumerate(zip(objects, textures)):
            x, y = sx * width + t * vx, sy * height + t * vy
            place = np.float32([[1, 0, x], [0, 1, y]])
            warped = cv2.warpAffine(texture, place, **warp)
            cover = cv2.warpAffine(np.ones(texture.shape[:2], np.float32), place, **warp)[..., None]
            image = image * (1.0 - cover) + warped
            inside = cover[..., 0] > 0.5
            motion[t][inside] = (vx, vy)
            owner[t][inside] = i
        frames[t] = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return frames, motion, owner


def write_panning_scene_video(
    path: str | Path,
    *,
    codec: str = "libx264",
    options: dict[str, str] | None = None,
    fps: int = 25,
    **scene_kwargs,
) -> PanningScene:
    """Renders :func:`panning_scene_frames` (kwargs passed through) and encodes it with ``codec``
    (``options=None``: the encoder's defaults; for libx264 3 B-frames, b-pyramid, 3 references)."""
    frames, motion, owner = panning_scene_frames(**scene_kwargs)
    path = write_video(path, frames, codec=codec, fps=fps, options=options)
    return PanningScene(path=path, motion=motion, owner=owner, frames=frames)
