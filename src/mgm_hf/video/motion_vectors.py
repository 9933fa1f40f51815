"""Per-frame motion from the decoder's motion vectors (H.264, MPEG-4, MPEG-2).

How a vector becomes motion in the DESIGN.md convention:

1. FFmpeg exports, per inter block, its centre ``dst`` and the displacement ``d = src - dst`` to the
   matching block in a reference frame (``src = dst + motion / motion_scale``); ``source < 0`` means a
   past reference, ``> 0`` a future one. The distance to the reference is *not* exported, and frame
   types do not settle it (DESIGN.md: x264 P-frames point 2 frames back even without B-frames).
2. :func:`reference_distances` finds it by comparing each block's decoded luma with every candidate
   reference 1…``max_distance`` frames away in the vector's direction, displaced by ``d`` (mean
   absolute difference, vectorised over blocks), with a per-frame majority vote for blocks that
   cannot tell the candidates apart.
3. The block moved ``-d / k`` per frame for a past reference ``k`` frames back (its content came from
   ``dst + d``), ``+d / k`` for a future reference (its content goes to ``dst + d``).
4. :func:`rasterise` spreads the per-block values over a dense grid (bi-predicted blocks average
   their two vectors); cells without any vector (I-frames, intra blocks) stay NaN and are later
   filled from neighbouring frames (:func:`mgm_hf.video.motion_ops.fill_missing`).

Decode with ``thread_type`` SLICE or NONE: frame threading corrupts exported vectors (DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import av
import numpy as np

from .motion_ops import fill_missing

__all__ = [
    "VECTOR_CODECS",
    "MotionVectorTracker",
    "drop_unused_predictions",
    "frame_luma",
    "frame_vectors",
    "rasterise",
    "rasterise_frames",
    "reference_distances",
    "vector_motion",
]

#: Codecs whose FFmpeg decoders export motion vectors (DESIGN.md: not hevc, vp8, vp9, av1).
VECTOR_CODECS = frozenset({"h264", "mpeg4", "mpeg2video"})

_PICT_B = 3  # AVPictureType: 1 = I, 2 = P, 3 = B
_MV_FIELDS = [
    ("source", "<i4"),
    ("w", "u1"),
    ("h", "u1"),
    ("src_x", "<i2"),
    ("src_y", "<i2"),
    ("dst_x", "<i2"),
    ("dst_y", "<i2"),
    ("flags", "<u8"),
    ("motion_x", "<i4"),
    ("motion_y", "<i4"),
    ("motion_scale", "<u2"),
]
_NO_VECTORS = np.zeros(
    0, np.dtype(_MV_FIELDS, align=True)
)  # a frame without vectors (I-frame): all cells NaN
_NO_VALUES = np.zeros((0, 2), np.float32)

try:  # a container that the frame does not cache (see frame_vectors)
    from av.sidedata.sidedata import SideDataContainer as _SideDataContainer

    def _side_data(frame: av.VideoFrame) -> Mapping:
        return _SideDataContainer(frame)

except ImportError:  # pragma: no cover - other PyAV layouts: the cached property (GC-dependent)

    def _side_data(frame: av.VideoFrame) -> Mapping:
        return frame.side_data


_SAD_SAMPLES = 4  # luma samples per block side used for the distance test
_PROBE_BLOCKS = 48  # blocks probed at every candidate distance before testing all blocks
_VOTE_RATIO, _VOTE_SLACK = 1.05, 0.5  # a block this close to its best match follows the frame majority


def frame_vectors(frame: av.VideoFrame) -> np.ndarray | None:
    """The frame's exported motion vectors as a numpy structured array (fields ``source, w, h,
    src_x, src_y, dst_x, dst_y, flags, motion_x, motion_y, motion_scale``), or None (no side data).

    The vectors are copied out and no reference to the frame survives the call. PyAV's
    ``frame.side_data`` property caches a container on the frame that points back at it: a reference
    cycle that keeps every such frame, its buffers and its *decoder with its slice threads* alive
    until Python's cyclic GC runs. Measured: each clip read leaked 8 threads; a process forked
    meanwhile (DataLoader "fork" workers) deadlocked when its own GC freed the inherited decoder
    and waited for threads that do not exist in the child. A private container has no such cycle.
    """
    side = _side_data(frame).get("MOTION_VECTORS")
    if side is None:
        return None
    vectors = side.to_ndarray().copy()  # a view would keep the side data, hence the frame, alive
    return vectors if len(vectors) else None


def frame_luma(frame: av.VideoFrame) -> np.ndarray:
    """Luma plane as uint8 ``(H, W)`` without a colour conversion for 8-bit YUV formats."""
    if frame.format.name in ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12"):
        plane = frame.planes[0]
        data = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        return data[:, : plane.width]
    return frame.to_ndarray(format="gray")


def _sample(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples (replicated border) of a uint8 ``(H, W)`` image at float32 coordinates of
    shape ``(N, S, S)``; returns float32 ``(N, S, S)``.

    Plain numpy gathers rather than ``cv2.remap``: the maps are tiny (a few thousand points), and
    OpenCV's thread pool must not be involved here. Toggling ``cv2.setNumThreads`` around every call
    restarted the pool and left processes forked afterwards (DataLoader workers) deadlocked inside
    OpenCV; this module never touches OpenCV's threading state.
    """
    if x.size == 0:
        return np.zeros(x.shape, np.float32)
    h, w = image.shape
    flat = image.reshape(-1) if image.flags.c_contiguous else np.ascontiguousarray(image).reshape(-1)
    x = np.clip(x, 0.0, w - 1.0)
    y = np.clip(y, 0.0, h - 1.0)
    x0 = np.minimum(x.astype(np.int32), max(w - 2, 0))  # x >= 0: truncation is floor
    y0 = np.minimum(y.astype(np.int32), max(h - 2, 0))
    fx = x - x0
    fy = y - y0
    i00 = y0 * w + x0
    dx = 1 if w > 1 else 0
    dy = w if h > 1 else 0
    a = flat[i00].astype(np.float32)
    b = flat[i00 + dx].astype(np.float32)
    c = flat[i00 + dy].astype(np.float32)
    d = flat[i00 + dy + dx].astype(np.float32)
    top = a + (b - a) * fx
    return top + ((c + (d - c) * fx) - top) * fy


def _mad(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean absolute difference per block of float32 ``(N, S, S)`` samples -> float32 ``(N,)``."""
    n, s1, s2 = a.shape
    return np.abs(a - b).reshape(n, s1 * s2).mean(axis=1, dtype=np.float32)


def _plausible_distances(
    rows: np.ndarray,
    candidates: list[int],
    sign: int,
    current: np.ndarray,
    qx: np.ndarray,
    qy: np.ndarray,
    references: Mapping[int, np.ndarray],
) -> list[int]:
    """Distances worth testing on every block: those that are best (or within 10 %) for at least one
    of ``_PROBE_BLOCKS`` evenly spread probe blocks. Encoders use few references per frame, so this
    usually leaves one or two of the eight candidates."""
    probe = rows[np.linspace(0, rows.size - 1, _PROBE_BLOCKS).astype(np.int64)]
    table = np.stack(
        [_mad(current[probe], _sample(references[sign * k], qx[probe], qy[probe])) for k in candidates],
        axis=1,
    )
    good = table <= table.min(axis=1, keepdims=True) * 1.1 + 0.5
    return [k for k, keep in zip(candidates, good.any(axis=0)) if keep]


def reference_distances(
    luma: np.ndarray,
    vectors: np.ndarray,
    references: Mapping[int, np.ndarray],
    max_distance: int = 4,
) -> tuple[np.ndarray, np.ndarray]:
    """Signed distance (in frames) from the current frame to each vector's reference frame.

    Args:
        luma: uint8 ``(H, W)`` decoded luma of the current frame.
        vectors: structured array of N vectors (see :func:`frame_vectors`).
        references: signed frame offset (``-1`` previous frame, ``+2`` two frames ahead, ...) -> luma
            ``(H, W)`` of that frame; missing offsets are not candidates.
        max_distance: largest distance tried in each direction.

    Returns:
        int64 ``(N,)``: ``-k`` for a past reference k frames back, ``+k`` ahead, 0 if no candidate
        frame was available; and float32 ``(N,)`` the mean absolute luma difference at that distance
        (inf when unknown).
    """
    n = len(vectors)
    static = (vectors["motion_x"] == 0) & (vectors["motion_y"] == 0)
    if static.any() and not np.any(vectors["source"] > 0):
        # One direction only (P-frame): zero vectors are zero motion at any distance and no
        # bi-predicted pair needs their match quality, so only moving blocks are searched.
        distance = np.full(n, -1, np.int64)
        sad = np.zeros(n, np.float32)
        if not static.all():
            moving = ~static
            distance[moving], sad[moving] = reference_distances(
                luma, vectors[moving], references, max_distance
            )
        return distance, sad
    direction = np.where(vectors["source"] > 0, 1, -1)
    scale = vectors["motion_scale"].astype(np.float32)
    dx = vectors["motion_x"] / scale
    dy = vectors["motion_y"] / scale
    offs = (np.arange(_SAD_SAMPLES, dtype=np.float32) + 0.5) / _SAD_SAMPLES - 0.5
    # Sample points on the block's pixel grid (pixel i has array coordinate i; the block spans
    # [dst - w/2, dst + w/2) in continuous coordinates).
    px = vectors["dst_x"][:, None, None] + offs[None, None, :] * vectors["w"][:, None, None] - 0.5
    py = vectors["dst_y"][:, None, None] + offs[None, :, None] * vectors["h"][:, None, None] - 0.5
    px = np.broadcast_to(px, (n, _SAD_SAMPLES, _SAD_SAMPLES)).astype(np.float32)
    py = np.broadcast_to(py, (n, _SAD_SAMPLES, _SAD_SAMPLES)).astype(np.float32)
    current = _sample(luma, px, py)
    sad = np.full((n, max_distance), np.inf, np.float32)
    qx = px + dx[:, None, None].astype(np.float32)
    qy = py + dy[:, None, None].astype(np.float32)
    # A zero vector means no motion whatever its distance: test only the nearest candidate (its
    # match quality still matters to drop_unused_predictions).
    static = (dx == 0) & (dy == 0)
    for sign in (-1, 1):
        rows = np.flatnonzero((direction == sign) & ~static)
        still = np.flatnonzero((direction == sign) & static)
        candidates = [k for k in range(1, max_distance + 1) if sign * k in references]
        if not candidates:
            continue
        if still.size:
            k = candidates[0]
            sad[still, k - 1] = _mad(current[still], _sample(references[sign * k], px[still], py[still]))
        if rows.size > 2 * _PROBE_BLOCKS and len(candidates) > 1:
            candidates = _plausible_distances(rows, candidates, sign, current, qx, qy, references)
        for k in candidates:  # vectors are sub-pixel (quarter-pel): bilinear samples
            matched = _sample(references[sign * k], qx[rows], qy[rows])
            sad[rows, k - 1] = _mad(current[rows], matched)
    best = np.argmin(sad, axis=1)
    best_sad = sad[np.arange(n), best]
    distance = np.where(np.isfinite(best_sad), (best + 1) * direction, 0)
    # Blocks that barely move or cannot tell candidates apart follow the frame's majority distance
    # for their direction (x264 mostly uses one reference per direction and frame).
    moving = np.hypot(dx, dy) >= 1.0
    for sign in (-1, 1):
        rows = (direction == sign) & np.isfinite(best_sad)
        votes = np.bincount(best[rows & moving], minlength=max_distance)
        if votes.sum() == 0:
            continue
        major = int(np.argmax(votes))
        close = rows & (sad[:, major] <= best_sad * _VOTE_RATIO + _VOTE_SLACK)
        distance[close] = (major + 1) * sign
    chosen = np.abs(distance) - 1
    chosen_sad = np.where(distance != 0, sad[np.arange(n), np.maximum(chosen, 0)], np.inf)
    return distance.astype(np.int64), chosen_sad.astype(np.float32)


def drop_unused_predictions(vectors: np.ndarray, sad: np.ndarray) -> np.ndarray:
    """Boolean ``(N,)`` mask of vectors to keep.

    FFmpeg exports both directions of a B macroblock even when one partition predicts from one list
    only; the unused direction then carries a stale (often zero) vector that matches nothing. Of the
    vectors exported for the same block, those matching much worse than the best one are dropped.
    """
    if not np.any(vectors["source"] > 0):
        return np.ones(len(vectors), bool)  # one direction only: every block has one vector
    key = (
        (vectors["dst_x"].astype(np.int64) + 32768) << 40
        | (vectors["dst_y"].astype(np.int64) + 32768) << 16
        | vectors["w"].astype(np.int64) << 8
        | vectors["h"].astype(np.int64)
    )
    _, group = np.unique(key, return_inverse=True)
    best = np.full(group.max() + 1 if group.size else 0, np.inf, np.float32)
    np.minimum.at(best, group, sad)
    return sad <= best[group] * 1.25 + 1.0


def vector_motion(vectors: np.ndarray, distances: np.ndarray) -> np.ndarray:
    """Per-frame motion ``(N, 2)`` of each block in the DESIGN.md convention: ``d / distance`` with
    ``d = src - dst`` (past: ``-d / k``, future: ``+d / k``); NaN where the distance is unknown (0)."""
    scale = vectors["motion_scale"].astype(np.float32)
    d = np.stack([vectors["motion_x"] / scale, vectors["motion_y"] / scale], axis=1).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = d / distances[:, None].astype(np.float32)
    out[distances == 0] = np.nan
    return out


def rasterise(
    vectors: np.ndarray, values: np.ndarray, frame_size: tuple[int, int], grid: int = 8
) -> np.ndarray:
    """Averages per-block values over a dense grid, vectorised (no per-block Python loop).

    Each block (centre ``dst_x, dst_y``, size ``w × h``) is cut into units of ``min(w, grid) ×
    min(h, grid)`` px; each unit adds its block's value, weighted by its area, to the grid cell
    containing its centre (a 16×16 block is 4 units on an 8-px grid, a 4×4 block a quarter cell).

    Args:
        vectors: N vectors (structured array, see :func:`frame_vectors`).
        values: float ``(N, 2)``; NaN rows are ignored.
        frame_size: ``(H, W)`` in pixels.
        grid: cell size in pixels.

    Returns:
        float32 ``(ceil(H / grid), ceil(W / grid), 2)``; NaN where no block landed.
    """
    return rasterise_frames([vectors], [values], frame_size, grid)[0]


def rasterise_frames(
    vectors: Sequence[np.ndarray], values: Sequence[np.ndarray], frame_size: tuple[int, int], grid: int = 8
) -> np.ndarray:
    """:func:`rasterise` for F frames in one vectorised pass (a frame id joins the cell index).

    Returns:
        float32 ``(F, ceil(H / grid), ceil(W / grid), 2)``.
    """
    height, width = frame_size
    gh, gw = -(-height // grid), -(-width // grid)
    frames = len(vectors)
    if frames == 0:
        return np.zeros((0, gh, gw, 2), np.float32)
    lengths = [len(v) for v in vectors]
    vec = np.concatenate(vectors)
    val = np.concatenate(values).astype(np.float32, copy=False)
    frame_id = np.repeat(np.arange(frames, dtype=np.int32), lengths)
    keep = ~np.isnan(val[:, 0])
    if not keep.all():
        vec, val, frame_id = vec[keep], val[keep], frame_id[keep]
    w = vec["w"].astype(np.int32)
    h = vec["h"].astype(np.int32)
    left = vec["dst_x"].astype(np.int32) - w // 2
    top = vec["dst_y"].astype(np.int32) - h // 2
    unit_w = np.minimum(w, grid)
    unit_h = np.minimum(h, grid)
    bw = w // unit_w
    counts = bw * (h // unit_h)
    # Integer arithmetic throughout: block edges are whole pixels (H.264/MPEG sizes are even).
    if np.all(counts == 1):
        cx = left + unit_w // 2
        cy = top + unit_h // 2
        owner = None
    else:
        owner = np.repeat(np.arange(len(vec), dtype=np.int32), counts)
        start = np.cumsum(counts) - counts
        k = np.arange(owner.size, dtype=np.int32) - start[owner]
        bwo = bw[owner]
        cx = left[owner] + (k % bwo) * unit_w[owner] + unit_w[owner] // 2
        cy = top[owner] + (k // bwo) * unit_h[owner] + unit_h[owner] // 2
    inside = (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)
    area = (unit_w * unit_h).astype(np.float32)
    if owner is None:
        owner = np.arange(len(vec), dtype=np.int32)
    owner = owner[inside]
    cell = (frame_id[owner] * gh + cy[inside] // grid) * gw + cx[inside] // grid
    a = area[owner]
    total = frames * gh * gw
    count = np.bincount(cell, weights=a, minlength=total)
    sx = np.bincount(cell, weights=val[owner, 0] * a, minlength=total)
    sy = np.bincount(cell, weights=val[owner, 1] * a, minlength=total)
    with np.errstate(invalid="ignore", divide="ignore"):
        field = np.stack([sx / count, sy / count], axis=-1).astype(np.float32)
    return field.reshape(frames, gh, gw, 2)


class MotionVectorTracker:
    """Turns decoded frames (fed in presentation order) into per-frame motion fields.

    Feed every decoded frame with :meth:`push`; fields are computed for the frames in ``wanted``.
    A frame whose vectors point ahead waits until its future references are decoded (the next
    non-B frame, at most ``max_distance`` frames ahead). :meth:`fields` returns the finished fields
    with gaps (I-frames, intra blocks) filled from neighbouring frames.

    Args:
        frame_size: ``(H, W)``.
        wanted: frame indices whose per-frame motion is needed.
        grid: cell size of the output fields in pixels.
        max_distance: farthest reference frame considered.
        search: False trusts every vector to span one frame (no pixel search, no decoded luma kept):
            right only for streams encoded with one reference frame and no B-frames (e.g.
            ``mgm-hf prepare --exact-motion``); DESIGN.md shows default x264 output is not like that.
    """

    def __init__(
        self,
        frame_size: tuple[int, int],
        wanted: Iterable[int],
        grid: int = 8,
        max_distance: int = 4,
        search: bool = True,
    ) -> None:
        self.frame_size = frame_size
        self.wanted = frozenset(int(i) for i in wanted)
        self.grid = grid
        self.max_distance = max_distance if search else 0
        self.search = search
        self.first_wanted = min(self.wanted) if self.wanted else 0
        self._luma: dict[int, np.ndarray] = {}
        self._types: dict[int, int] = {}
        self._pending: dict[int, np.ndarray] = {}
        self._done: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # index -> (vectors, motion (N, 2))
        self.found_vectors = False

    @property
    def idle(self) -> bool:
        """True when no frame waits for a future reference."""
        return not self._pending

    def push(self, index: int, frame: av.VideoFrame) -> None:
        """Feeds one decoded frame (presentation order)."""
        if index < self.first_wanted - self.max_distance:
            return
        if not self.search:
            if index in self.wanted:
                vectors = frame_vectors(frame)
                self.found_vectors |= vectors is not None
                self._done[index] = (
                    (_NO_VECTORS, _NO_VALUES)
                    if vectors is None
                    else (vectors, vector_motion(vectors, np.where(vectors["source"] > 0, 1, -1)))
                )
            return
        self._luma[index] = frame_luma(frame).copy()
        self._types[index] = int(frame.pict_type)
        if index in self.wanted:
            vectors = frame_vectors(frame)
            if vectors is None:
                self._done[index] = (_NO_VECTORS, _NO_VALUES)
            else:
                self.found_vectors = True
                self._pending[index] = vectors
        self._process(latest=index, final=False)

    def finish(self) -> None:
        """Processes frames still waiting (end of stream: use whatever references exist)."""
        self._process(latest=max(self._luma, default=0), final=True)

    def fields(self) -> dict[int, np.ndarray]:
        """Frame index -> float32 ``(h, w, 2)`` per-frame motion, gaps filled."""
        self.finish()
        keys = sorted(self._done)
        stack = rasterise_frames(
            [self._done[k][0] for k in keys], [self._done[k][1] for k in keys], self.frame_size, self.grid
        )
        return fill_missing(dict(zip(keys, stack)))

    # ---------------------------------------------------------------------------------- internal
    def _next_anchor(self, index: int, latest: int) -> int | None:
        """First decoded non-B frame after ``index`` (a B-frame's farthest future reference)."""
        for j in range(index + 1, latest + 1):
            if j in self._types and self._types[j] != _PICT_B:
                return j
        return None

    def _process(self, latest: int, final: bool) -> None:
        for index in sorted(self._pending):
            vectors = self._pending[index]
            horizon = index + self.max_distance
            if np.any(vectors["source"] > 0) and not final:
                anchor = self._next_anchor(index, latest)
                if anchor is None and latest < horizon:
                    continue
                horizon = min(horizon, anchor if anchor is not None else horizon)
            references = {
                off: self._luma[index + off]
                for off in range(-self.max_distance, self.max_distance + 1)
                if off != 0 and index + off in self._luma and index + off <= horizon
            }
            distances, sad = reference_distances(self._luma[index], vectors, references, self.max_distance)
            values = vector_motion(vectors, distances)
            values[~drop_unused_predictions(vectors, sad)] = np.nan
            self._done[index] = (vectors, values)
            del self._pending[index]
        oldest = min(self._pending, default=latest) - self.max_distance
        for key in [k for k in self._luma if k < oldest]:
            del self._luma[key]
