"""Video decoding with motion (motion vectors or optical flow), clip sampling and test videos."""

from __future__ import annotations

from .clip import Clip
from .errors import VideoReadError
from .synthetic import (
    SyntheticVideo,
    moving_square_frames,
    moving_square_motion,
    write_moving_square_video,
    write_video,
)

__all__ = [
    "Clip",
    "SyntheticVideo",
    "VideoReadError",
    "moving_square_frames",
    "moving_square_motion",
    "write_moving_square_video",
    "write_video",
]
