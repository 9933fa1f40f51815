"""``read_clip``: one PyAV decode pass giving frames and motion (motion vectors or optical flow).

Motion convention: ``motion[t]`` is how far the content at (x, y) of sampled frame t moved
since sampled frame t-1, accumulated over the stride. For t = 0 it is the motion since the frame one
step before the clip (``max(index[0] - step, 0)``; zero when the clip starts at frame 0).

Videos shorter than the clip: indices past the end are mapped back by ``short_clip`` (see
:func:`.sampling.fit_to_length`) and the motion is still the one between the frames returned:
a loop's jump back to an earlier frame is a displacement backward in time (the content of a
square moving +3 px per frame reads -3 px per frame jumped back), and a repeated last frame
has zero motion.

Sources:

- ``motion_vectors`` (h264, mpeg4, mpeg2video): per-frame fields from the decoder's vectors (see
  :mod:`.motion_vectors`), chained over the frames between two samples (:func:`motion_between_frames`), on a
  grid of ``mv_grid`` pixels: ``motion`` is ``(T, ceil(H / mv_grid), ceil(W / mv_grid), 2)``.
- ``optical_flow``: the flow backend between the two sampled frames, full resolution ``(T, H, W, 2)``.
- ``auto``: vectors when the codec has them, else ``fallback`` (optical flow by default; SSv2 is VP9).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import torch

from .clip import Clip
from .decode_order import DecodeOrder
from .errors import VideoReadError
from .flow import FlowBackend, get_flow_backend
from .flow_cache import MotionCache
from .motion_ops import motion_between_frames
from .motion_options import MOTION_MODES, MotionOptions
from .motion_vectors import VECTOR_CODECS, MalformedVectors, MotionVectorTracker, stream_needs_search
from .probe import VideoInfo, open_video, open_video_with_info
from .rgb import RGBConverter
from .sampling import dense_indices, dense_view_indices, fit_to_length, random_start, segment_indices
from .sampling import segment_view_indices as _segment_views

__all__ = ["MOTION_MODES", "read_clip", "read_clips", "read_views"]

logger = logging.getLogger(__name__)
_LOGGED_SOURCES: set[str] = set()


def _log_source_once(source: str, codec: str) -> None:
    kind = source.split(":")[0]
    if kind not in _LOGGED_SOURCES:
        _LOGGED_SOURCES.add(kind)
        logger.info("mgm_hf.video: motion from %s (first seen on codec %s)", source, codec)


@dataclass
class _ViewPlan:
    """Where each sampled frame comes from and which frame its motion starts at."""

    indices: np.ndarray  # (T,) fitted into the video
    starts: np.ndarray  # (T,) frame a: motion[t] is the motion from frame a to frame indices[t]; a is
    # indices[t - 1] (for t = 0: the frame one step before the clip), possibly after indices[t]


def _plan(indices: np.ndarray, num_video_frames: int, short_clip: str, first_step: int | None) -> _ViewPlan:
    raw = np.asarray(indices, np.int64)
    if raw.ndim != 1 or raw.size == 0 or np.any(raw < 0):
        raise ValueError(f"frame indices must be a non-empty 1-D array of indices >= 0, got {raw}.")
    first = first_step or (raw[1] - raw[0] if raw.size > 1 else 1)
    before = max(raw[0] - max(first, 1), 0)  # the frame one step before the clip, clamped to frame 0
    # Each motion starts at the frame returned before it, after both are mapped into a short video.
    fitted = fit_to_length(raw, num_video_frames, short_clip)
    starts = fit_to_length(np.concatenate([[before], raw[:-1]]), num_video_frames, short_clip)
    return _ViewPlan(fitted, starts)


class _Decoded:
    """Frames kept from one decode pass."""

    def __init__(self) -> None:
        self.rgb: dict[int, np.ndarray] = {}
        self.last_index = -1
        self.reached_end = True


def _decode(
    path: str,
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    info: VideoInfo,
    rgb_needed: set[int],
    tracker: MotionVectorTracker | None,
    thread_type: str,
) -> _Decoded:
    """Decodes from the keyframe before the first needed frame up to the last, keeping RGB copies of
    ``rgb_needed`` (one shared converter) and feeding every frame to ``tracker``.

    The keyframe before the first wanted frame also bounds its references (closed GOPs), so the
    seek does not reach further back for the vector search. Frame indices come from the first
    frame's timestamp after a seek, then by counting; a seek that lands after the target, or a frame
    without a timestamp, restarts the decode from the beginning of a fresh container.
    """
    needed = set(rgb_needed) | (set(tracker.wanted) if tracker is not None else set())
    span = (min(needed), max(needed))
    _configure(stream, tracker is not None, thread_type)
    out = _decode_pass(path, container, stream, info, rgb_needed, tracker, span, seek=span[0] > 0)
    if out is None:  # the seek overshot
        fresh, fresh_stream = open_video(path)
        try:
            _configure(fresh_stream, tracker is not None, thread_type)
            out = _decode_pass(path, fresh, fresh_stream, info, rgb_needed, tracker, span, seek=False)
        finally:
            fresh.close()
    assert out is not None  # a decode from the start cannot overshoot
    if tracker is not None:
        tracker.finish()  # releases the frames it held
    return out


def _configure(stream: av.video.stream.VideoStream, vectors: bool, thread_type: str) -> None:
    """Sets the decoder up before its first packet: vector export, and SLICE threading with it
    (frame threading corrupts exported vectors)."""
    if vectors:
        stream.codec_context.options = {"flags2": "+export_mvs"}
        if thread_type not in ("SLICE", "NONE"):
            thread_type = "SLICE"
    stream.thread_type = thread_type


def _decode_pass(
    path: str,
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    info: VideoInfo,
    rgb_needed: set[int],
    tracker: MotionVectorTracker | None,
    span: tuple[int, int],
    seek: bool,
) -> _Decoded | None:
    """One pass of :func:`_decode` over the frames ``span = (first, last)`` needed; None when the seek
    landed after the first needed frame (nothing was kept or fed then)."""
    lo, hi = span
    if seek:
        container.seek(info.pts_of(lo), stream=stream, backward=True, any_frame=False)
    out = _Decoded()
    rgb = RGBConverter()
    index = -1
    try:
        for packet in container.demux(stream):  # what container.decode(stream) does, with the packets
            if tracker is not None:
                tracker.note_packet(packet)
            for frame in packet.decode():
                if seek and index < 0:
                    index = info.index_of(frame.pts) if frame.pts is not None else lo + 1
                    if index > lo:
                        return None
                else:
                    index += 1
                if index in rgb_needed and index not in out.rgb:
                    out.rgb[index] = rgb(frame)
                if tracker is not None:
                    tracker.push(index, frame)
                if index >= hi and (tracker is None or tracker.idle):
                    out.reached_end = False
                    break
            if not out.reached_end:
                break
    except av.FFmpegError as err:
        raise VideoReadError(path, f"decoding failed (corrupt or truncated file): {err}") from err
    except MalformedVectors as err:
        raise VideoReadError(path, str(err)) from err
    out.last_index = index
    return out


def _resolve_mode(options: MotionOptions, codec: str, path: str) -> str:
    """The motion source for this file: ``motion_vectors``, ``optical_flow`` or ``none``."""
    motion, fallback = options.motion, options.fallback
    if motion == "auto":
        if codec in VECTOR_CODECS:
            return "motion_vectors"
        if fallback == "error":
            raise VideoReadError(
                path, f"codec {codec} exports no motion vectors (only {sorted(VECTOR_CODECS)})"
            )
        return fallback
    if motion == "motion_vectors" and codec not in VECTOR_CODECS:
        raise VideoReadError(
            path,
            f"codec {codec} exports no motion vectors (only {sorted(VECTOR_CODECS)} do); use "
            "motion='optical_flow' or 'auto', or transcode to H.264",
        )
    return motion


def read_clips(
    path: str | Path,
    indices_list: Sequence[Sequence[int] | np.ndarray] | Callable[[VideoInfo], Sequence[np.ndarray]],
    *,
    motion: str | None = None,
    fallback: str | None = None,
    flow_method: str | FlowBackend | None = None,
    short_clip: str = "loop",
    mv_grid: int | None = None,
    max_ref_distance: int | None = None,
    mv_reference: str | None = None,
    first_step: int | None = None,
    thread_type: str | None = None,
    motion_cache: MotionCache | None = None,
    motion_options: MotionOptions | None = None,
) -> list[Clip]:
    """Decodes several clips (e.g. the temporal views of multi-view testing) in one pass.

    Args:
        path: video file.
        indices_list: one array of frame indices per clip (from :mod:`.sampling`), or a function of
            the :class:`VideoInfo` returning them (lets callers sample without opening the file
            twice); indices past the end are mapped back by ``short_clip``.
        motion, fallback, flow_method, mv_grid, max_ref_distance, mv_reference, thread_type: the
            fields of :class:`MotionOptions` (see there); each one given (not None) overrides
            ``motion_options``. Defaults: ``"auto"``, ``"optical_flow"``, ``"dis"``, 8, 8,
            ``"search"``, ``"SLICE"``.
        short_clip: ``"loop"`` or ``"repeat_last"`` for clips running past the end; the motion is
            still between the frames returned (a loop's jump back reads backward motion).
        first_step: frames between the frame before the clip and its first frame (default: the
            clip's own first step).
        motion_cache: a :class:`MotionCache` with precomputed per-frame motion to use when it has
            this file (then only frames are decoded).
        motion_options: a :class:`MotionOptions` (validated once, e.g. by
            :class:`~mgm_hf.data.VideoTransform`).

    Returns:
        one :class:`Clip` per index array; raises :class:`VideoReadError` for unreadable files.
    """
    options = MotionOptions.from_kwargs(
        motion_options, motion=motion, fallback=fallback, flow_method=flow_method, mv_grid=mv_grid,
        max_ref_distance=max_ref_distance, mv_reference=mv_reference, thread_type=thread_type,
    )
    path = str(path)
    container, stream, info = open_video_with_info(path)
    try:
        if callable(indices_list):
            indices_list = indices_list(info)
        plans = [_plan(np.asarray(ix), info.num_frames, short_clip, first_step) for ix in indices_list]
        mode = _resolve_mode(options, info.codec, path)
        cached = motion_cache.load(path) if (motion_cache is not None and mode != "none") else None
        if cached is not None:
            return _clips_from_cache(path, container, stream, info, plans, cached, options.thread_type)
        clips = _read_plans(path, container, stream, info, plans, mode, options)
        if clips is None:
            # An all-intra stream under motion="auto": no vectors anywhere. Fall back instead of
            # returning silent zeros; the codec was opened with vector export, so decode again
            # from a fresh container.
            container.close()
            container, stream = open_video(path)
            clips = _read_plans(path, container, stream, info, plans, options.fallback, options)
        return clips
    except av.FFmpegError as err:  # e.g. a seek into a damaged index; the decode loop converts its own
        raise VideoReadError(path, f"reading failed (corrupt or truncated file): {err}") from err
    finally:
        container.close()


def _read_plans(
    path: str,
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    info: VideoInfo,
    plans: list[_ViewPlan],
    mode: str,
    options: MotionOptions,
) -> list[Clip] | None:
    """The clips of ``plans`` with motion from ``mode`` (``motion_vectors``, ``optical_flow`` or
    ``none``); None when vectors were wanted under ``motion="auto"`` and the stream has none."""
    rgb_needed = {int(i) for p in plans for i in p.indices}
    tracker = None
    if mode == "optical_flow":
        rgb_needed |= {int(a) for p in plans for a in p.starts}
    elif mode == "motion_vectors":
        wanted = {
            j
            for p in plans
            for a, b in zip(p.starts, p.indices)
            if a != b  # a jump back (a > b) is the forward chain from b to a, turned around
            for j in range(int(min(a, b)), min(int(max(a, b)) + 2, info.num_frames))
        }
        search = options.mv_reference == "search" and stream_needs_search(stream)
        tracker = MotionVectorTracker(
            (info.height, info.width), wanted, options.mv_grid, options.max_ref_distance, search=search,
            decode_order=DecodeOrder.for_stream(stream),
        )
    decoded = _decode(path, container, stream, info, rgb_needed, tracker, options.thread_type)
    missing = sorted(rgb_needed - decoded.rgb.keys())
    if missing:
        raise VideoReadError(
            path,
            f"truncated or corrupt: the stream declares {info.num_frames} frames but frame {missing[0]} "
            f"could not be decoded (decoding stopped after frame {decoded.last_index})",
        )
    if tracker is not None and not tracker.found_vectors and any((p.starts != p.indices).any() for p in plans):
        if options.motion == "auto" and options.fallback != "error":
            return None
        raise VideoReadError(path, "no motion vectors in the decoded frames (all-intra stream?)")
    clips = []
    fields = tracker.field_stack() if tracker is not None else None
    backend = get_flow_backend(options.flow_method) if mode == "optical_flow" else None
    source = {"motion_vectors": "motion_vectors", "none": "none"}.get(
        mode
    ) or f"optical_flow:{_flow_name(backend)}"
    for plan in plans:
        frames = np.stack([decoded.rgb[int(i)] for i in plan.indices])
        if mode == "none":
            motion_array = None
        elif fields is not None:
            motion_array = _compose_plan(plan, *fields, options.mv_grid, info)
        else:
            motion_array = _flow_plan(plan, decoded.rgb, backend)
        clips.append(Clip(frames, motion_array, source, plan.indices.copy(), info.fps, path))
    if mode != "none":
        _log_source_once(source, info.codec)
    return clips


def _flow_name(backend: FlowBackend | None) -> str:
    return getattr(backend, "name", type(backend).__name__)


def _grid_shape(info: VideoInfo, grid: int) -> tuple[int, int]:
    return -(-info.height // grid), -(-info.width // grid)


def _compose_plan(
    plan: _ViewPlan, order: list[int], fields: np.ndarray, grid: int, info: VideoInfo
) -> np.ndarray:
    """(T, h, w, 2): per-frame fields (of frames ``order``, ``(F, h, w, 2)``; others are zero) chained
    from ``starts[t]`` to ``indices[t]`` (a jump back is the forward chain turned around, see
    :func:`motion_between_frames`)."""
    lo = int(min(plan.starts.min(), plan.indices.min()))
    hi = int(max(plan.starts.max(), plan.indices.max()))
    at = np.asarray(order, np.int64)
    if at.size and at[-1] - at[0] + 1 == at.size and at[0] <= lo and hi <= at[-1]:
        steps = fields[lo - at[0] : hi - at[0] + 1]  # consecutive frames (one clip): a view
    else:
        steps = np.zeros((hi - lo + 1, *_grid_shape(info, grid), 2), np.float32)
        inside = (at >= lo) & (at <= hi)
        steps[at[inside] - lo] = fields[inside]
    return motion_between_frames(steps, plan.starts - lo, plan.indices - lo, grid)


def _flow_plan(plan: _ViewPlan, rgb: dict[int, np.ndarray], backend: FlowBackend) -> np.ndarray:
    """(T, H, W, 2): flow from frame ``starts[t]`` to frame ``indices[t]`` at the latter's pixels.

    A jump back (``starts[t] > indices[t]``) is a real displacement between two frames, so the
    backend runs on that pair directly, later frame first."""
    out = []
    for a, b in zip(plan.starts, plan.indices):
        if a == b:
            out.append(np.zeros((*rgb[int(b)].shape[:2], 2), np.float32))
        else:
            out.append(backend(rgb[int(a)], rgb[int(b)]))
    return np.stack(out).astype(np.float32)


def _clips_from_cache(
    path: str,
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    info: VideoInfo,
    plans: list[_ViewPlan],
    cached: tuple[np.ndarray, int, str],
    thread_type: str,
) -> list[Clip]:
    per_frame, cell, source = cached
    rgb_needed = {int(i) for p in plans for i in p.indices}
    decoded = _decode(path, container, stream, info, rgb_needed, None, thread_type)
    missing = sorted(rgb_needed - decoded.rgb.keys())
    if missing:
        raise VideoReadError(path, f"truncated or corrupt: frame {missing[0]} could not be decoded")
    last = max(int(p.indices.max()) for p in plans)
    if last >= len(per_frame):  # frames past the cached ones have no motion
        pad = np.zeros((last + 1 - len(per_frame), *per_frame.shape[1:]), per_frame.dtype)
        per_frame = np.concatenate([per_frame, pad])

    clips = []
    for plan in plans:
        motion = motion_between_frames(per_frame, plan.starts, plan.indices, cell)
        frames = np.stack([decoded.rgb[int(i)] for i in plan.indices])
        clips.append(Clip(frames, motion, source, plan.indices.copy(), info.fps, path))
    _log_source_once(source, info.codec)
    return clips


def _rng(seed: int | None, generator: np.random.Generator | torch.Generator | None):
    return generator if generator is not None else seed


def read_clip(
    path: str | Path,
    num_frames: int = 16,
    frame_stride: int = 4,
    start_frame: int | None = None,
    *,
    sampling: str = "dense",
    motion: str | None = None,
    seed: int | None = None,
    generator: np.random.Generator | torch.Generator | None = None,
    **kwargs,
) -> Clip:
    """Reads one clip with its motion in one decode pass.

    Args:
        path: video file.
        num_frames: T.
        frame_stride: frames between samples for ``sampling="dense"`` (pretraining: 4 on K400, 2 on
            SSv2).
        start_frame: first frame; None picks a random start that fits (seeded by ``seed`` or
            ``generator``). Ignored by ``sampling="segments"``.
        sampling: ``"dense"`` (``start, start + stride, ...``), ``"segments"`` (TSN: a random frame
            from each of T equal segments, SSv2 fine-tuning) or ``"segments_center"`` (their middles).
        motion: ``"auto"``, ``"motion_vectors"``, ``"optical_flow"`` or ``"none"`` (None: from
            ``motion_options``, default ``"auto"``).
        seed, generator: randomness of the start / segment offsets.
        **kwargs: passed to :func:`read_clips` (``motion_options``, ``fallback``, ``flow_method``,
            ``short_clip``, ``mv_grid``, ``max_ref_distance``, ``mv_reference``, ``thread_type``,
            ``motion_cache``).

    Returns:
        :class:`Clip` with ``frames`` uint8 ``(T, H, W, 3)``, ``motion`` float32 ``(T, h, w, 2)`` (or
        None for ``motion="none"``), ``motion_source``, ``frame_indices`` int64 ``(T,)``.

    Raises:
        VideoReadError: missing, empty, truncated, non-video or streamless files.
    """
    rng = _rng(seed, generator)
    if sampling == "dense":
        kwargs.setdefault("first_step", frame_stride)
    elif sampling not in ("segments", "segments_center"):
        raise ValueError(f"sampling must be 'dense', 'segments' or 'segments_center', got {sampling!r}.")

    def indices(info: VideoInfo) -> list[np.ndarray]:
        if sampling == "dense":
            start = start_frame
            if start is None:
                start = random_start(info.num_frames, num_frames, frame_stride, rng)
            return [dense_indices(num_frames, frame_stride, start)]
        if sampling == "segments":
            return [segment_indices(info.num_frames, num_frames, "random", rng)]
        return [segment_indices(info.num_frames, num_frames, "center")]

    return read_clips(path, indices, motion=motion, **kwargs)[0]


def read_views(
    path: str | Path,
    num_frames: int = 16,
    frame_stride: int = 4,
    num_views: int = 5,
    *,
    sampling: str = "dense",
    motion: str | None = None,
    **kwargs,
) -> list[Clip]:
    """The temporal views of multi-view testing, decoded in one pass (spatial crops are transforms).

    ``sampling="dense"``: ``num_views`` evenly spaced dense clips (K400: 5 views); ``"segments"``:
    TSN views offset within each segment (SSv2: 2 views).
    """
    if sampling == "dense":
        kwargs.setdefault("first_step", frame_stride)

        def views(info: VideoInfo) -> list[np.ndarray]:
            return dense_view_indices(info.num_frames, num_frames, frame_stride, num_views)

    elif sampling == "segments":

        def views(info: VideoInfo) -> list[np.ndarray]:
            return _segment_views(info.num_frames, num_frames, num_views)

    else:
        raise ValueError(f"sampling must be 'dense' or 'segments', got {sampling!r}.")
    return read_clips(path, views, motion=motion, **kwargs)
