"""The :class:`Clip` container returned by the video readers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Clip:
    """A decoded clip and its motion.

    Attributes:
        frames: uint8 ``(T, H, W, 3)`` RGB frames.
        motion: float32 ``(T, h, w, 2)`` motion ``(dx, dy)`` in pixels of the frame, following the
            motion convention (how far the content at (x, y) of sampled frame t moved since
            sampled frame t-1), or ``None`` when no motion was asked for. ``h, w`` may be a
            coarser grid than ``H, W`` (e.g. one value per 8×8 block for motion vectors); the
            values are still in full-resolution pixels.
        motion_source: ``"motion_vectors"``, ``"optical_flow:<method>"`` or ``"none"``.
        frame_indices: int64 ``(T,)`` indices of the sampled frames in the video (presentation
            order, 0-based). Repeated indices mark looped / repeated frames of short videos.
        fps: average frame rate of the video stream.
        path: the file the clip came from.
    """

    frames: np.ndarray
    motion: np.ndarray | None
    motion_source: str
    frame_indices: np.ndarray
    fps: float
    path: str

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    def __post_init__(self) -> None:
        if self.frames.ndim != 4 or self.frames.shape[-1] != 3:
            raise ValueError(f"frames must be (T, H, W, 3), got {self.frames.shape}.")
        if self.motion is not None and (
            self.motion.ndim != 4
            or self.motion.shape[-1] != 2
            or self.motion.shape[0] != self.frames.shape[0]
        ):
            raise ValueError(
                f"motion must be (T, h, w, 2) with T={self.frames.shape[0]}, got {self.motion.shape}."
            )
        if len(self.frame_indices) != self.frames.shape[0]:
            raise ValueError("frame_indices must have one entry per frame.")
