"""Frame sampling as pure functions returning frame indices (int64 arrays).

The modes the papers use:

- dense stride (pretraining; VideoMAE/MGM/MGMAE: stride 4 on Kinetics-400, 2 on SSv2):
  :func:`dense_indices` with a random start from :func:`random_start`;
- TSN-style segments (SSv2 fine-tuning): :func:`segment_indices`;
- multi-view testing (temporal views × spatial crops, e.g. 2×3 on SSv2, 5×3 on K400): the temporal
  part is :func:`dense_view_indices` / :func:`segment_view_indices`; spatial crops belong to the
  data transforms.

Indices may run past the end of a short video; :func:`fit_to_length` maps them back (loop or
repeat the last frame).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = [
    "SHORT_CLIP_POLICIES",
    "clip_span",
    "dense_indices",
    "dense_view_indices",
    "fit_to_length",
    "random_start",
    "segment_indices",
    "segment_view_indices",
]

RandomSource = int | np.random.Generator | torch.Generator | None
SHORT_CLIP_POLICIES = ("loop", "repeat_last")  # the modes of fit_to_length


def clip_span(num_frames: int, frame_stride: int) -> int:
    """Number of video frames a dense clip covers: ``(num_frames - 1) * frame_stride + 1``."""
    return (num_frames - 1) * frame_stride + 1


def _randint(high: int, rng: RandomSource) -> int:
    """Uniform integer in ``[0, high)`` from a seed, numpy Generator or torch Generator."""
    if high <= 1:
        return 0
    if isinstance(rng, torch.Generator):
        return int(torch.randint(high, (1,), generator=rng).item())
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    return int(rng.integers(high))


def random_start(video_frames: int, num_frames: int, frame_stride: int, rng: RandomSource = None) -> int:
    """A uniformly random start so the clip fits in the video (0 when it cannot fit)."""
    return _randint(max(video_frames - clip_span(num_frames, frame_stride) + 1, 1), rng)


def dense_indices(num_frames: int, frame_stride: int, start: int = 0) -> np.ndarray:
    """``start, start + stride, ...``: int64 ``(num_frames,)`` (may exceed the video length)."""
    if num_frames < 1 or frame_stride < 1 or start < 0:
        raise ValueError(
            f"need num_frames >= 1, frame_stride >= 1, start >= 0; got {num_frames}, {frame_stride}, {start}."
        )
    return start + frame_stride * np.arange(num_frames, dtype=np.int64)


def dense_view_indices(
    video_frames: int, num_frames: int, frame_stride: int, num_views: int
) -> list[np.ndarray]:
    """Evenly spaced dense clips for multi-view testing: ``num_views`` arrays of ``(num_frames,)``.

    The first view starts at frame 0, the last ends at the last frame (when the video is long
    enough); views in between are spaced evenly.
    """
    room = max(video_frames - clip_span(num_frames, frame_stride), 0)
    starts = [room // 2] if num_views == 1 else [round(k * room / (num_views - 1)) for k in range(num_views)]
    return [dense_indices(num_frames, frame_stride, s) for s in starts]


def segment_indices(
    video_frames: int, num_segments: int, mode: str = "random", rng: RandomSource = None
) -> np.ndarray:
    """TSN sampling: split the video into ``num_segments`` equal segments and take one frame from each.

    Args:
        mode: ``"random"`` (a random frame per segment, training) or ``"center"`` (the middle frame,
            testing).

    Returns:
        int64 ``(num_segments,)``, non-decreasing; frames repeat when the video is shorter than
        ``num_segments``.
    """
    if mode == "center":
        return segment_view_indices(video_frames, num_segments, 1)[0]
    if mode != "random":
        raise ValueError(f"mode must be 'random' or 'center', got {mode!r}.")
    video_frames = max(video_frames, 1)
    edges = np.linspace(0, video_frames, num_segments + 1)
    lo = np.floor(edges[:-1]).astype(np.int64)
    widths = np.maximum(np.floor(edges[1:]).astype(np.int64) - lo, 1)
    if isinstance(rng, torch.Generator):
        offsets = (torch.rand(num_segments, generator=rng).numpy() * widths).astype(np.int64)
    else:
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        offsets = (gen.random(num_segments) * widths).astype(np.int64)
    return np.minimum(lo + offsets, video_frames - 1).astype(np.int64)


def segment_view_indices(video_frames: int, num_segments: int, num_views: int) -> list[np.ndarray]:
    """Temporal test views of TSN sampling (VideoMAE SSv2 test: 2 views).

    View ``k`` takes, in each segment, the frame at fraction ``(k + 0.5) / num_views`` of it.
    """
    video_frames = max(video_frames, 1)
    tick = video_frames / num_segments
    views = []
    for k in range(num_views):
        idx = np.floor(tick * (np.arange(num_segments) + (k + 0.5) / num_views)).astype(np.int64)
        views.append(np.minimum(idx, video_frames - 1))
    return views


def fit_to_length(indices: np.ndarray, video_frames: int, mode: str = "loop") -> np.ndarray:
    """Maps indices past the end of a ``video_frames``-long video back into it.

    Args:
        mode: ``"loop"`` (wrap around: ``i % video_frames``) or ``"repeat_last"`` (clamp to the last
            frame).
    """
    if video_frames < 1:
        raise ValueError("the video has no frames.")
    indices = np.asarray(indices, dtype=np.int64)
    if mode == "loop":
        return indices % video_frames
    if mode == "repeat_last":
        return np.minimum(indices, video_frames - 1)
    raise ValueError(f"short_clip must be one of {SHORT_CLIP_POLICIES}, got {mode!r}.")
