"""Video decoding with motion (motion vectors or optical flow), clip sampling and test videos.

``read_clip`` decodes a clip and its motion in one PyAV pass. Motion convention, everywhere in
mgm_hf: ``motion[t, y, x] = (dx, dy)`` = how far, in pixels of the frame, the content at (x, y) of
sampled frame t moved since sampled frame t-1 (for t = 0 since the frame one step before the clip,
zero when nothing precedes it); resizing scales it, a horizontal flip negates dx, cropping shifts
nothing.
"""

from __future__ import annotations

from .clip import Clip
from .decode import MOTION_MODES, read_clip, read_clips, read_views
from .errors import VideoReadError
from .flow import (
    available_flow_backends,
    estimate_flow,
    estimate_flow_batch,
    get_flow_backend,
    register_flow_backend,
)
from .flow_cache import MotionCache, video_motion_fields
from .motion_options import MotionOptions
from .motion_vectors import VECTOR_CODECS
from .probe import VideoInfo, probe_video
from .sampling import (
    dense_indices,
    dense_view_indices,
    fit_to_length,
    random_start,
    segment_indices,
    segment_view_indices,
)
from .synthetic import (
    SyntheticVideo,
    moving_square_frames,
    moving_square_motion,
    write_moving_square_video,
    write_video,
)

__all__ = [
    "MOTION_MODES",
    "VECTOR_CODECS",
    "Clip",
    "MotionCache",
    "MotionOptions",
    "SyntheticVideo",
    "VideoInfo",
    "VideoReadError",
    "available_flow_backends",
    "dense_indices",
    "dense_view_indices",
    "estimate_flow",
    "estimate_flow_batch",
    "fit_to_length",
    "get_flow_backend",
    "moving_square_frames",
    "moving_square_motion",
    "probe_video",
    "random_start",
    "read_clip",
    "read_clips",
    "read_views",
    "register_flow_backend",
    "segment_indices",
    "segment_view_indices",
    "video_motion_fields",
    "write_moving_square_video",
    "write_video",
]
