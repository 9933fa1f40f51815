"""Per-frame motion from the decoder's motion vectors (H.264, MPEG-4, MPEG-2).

How a vector becomes motion in the DESIGN.md convention:

1. FFmpeg exports, per inter block, its centre ``dst`` and the displacement ``d = src - dst`` to the
   matching block in a reference frame (``src = dst + motion / motion_scale``); ``source < 0`` means a
   past reference, ``> 0`` a future one. The distance to the reference is *not* exported, and frame
   types do not settle it (DESIGN.md: x264 P-frames point 2 frames back even without B-frames).
2. :func:`reference_distances` finds it by comparing each block's decoded luma (4 × 4 whole pixels
   of the block) with every candidate reference 1…``max_distance`` frames away in the vector's
   direction, displaced by ``d`` (bilinear, mean absolute difference), with a per-frame majority
   vote for blocks that cannot tell the candidates apart. In a frame with many moving blocks, a
   few evenly spread probe blocks are searched fully and their majority distance is only verified
   on the others (full search where a block matches clearly worse there); a coarse pass on 4 of
   the 16 samples drops clearly worse candidates before the full pass. :class:`MotionVectorTracker`
   searches the frames of a clip in batches (one vectorised pass over up to 32 frames' vectors,
   luma kept in one ring array): the cost is numpy work on samples, not Python calls per frame.
3. The block moved ``-d / k`` per frame for a past reference ``k`` frames back (its content came from
   ``dst + d``), ``+d / k`` for a future reference (its content goes to ``dst + d``).
4. :func:`rasterise` spreads the per-block values over a dense grid (bi-predicted blocks average
   their two vectors); cells without any vector (I-frames, intra blocks) stay NaN and are later
   filled from neighbouring frames (:func:`mgm_hf.video.motion_ops.fill_missing`).

Decode with ``thread_type`` SLICE or NONE: frame threading corrupts exported vectors (DESIGN.md).

Fork safety (DataLoader "fork" workers): no reference to a decoded frame outlives
:func:`frame_vectors` (PyAV's cached ``frame.side_data`` would keep the decoder and its threads
alive until the cyclic GC, and a forked child deadlocks freeing them), and nothing here calls
OpenCV (toggling ``cv2.setNumThreads`` per frame restarted its pool, which also hung forked
children).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

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


_BATCH_FRAMES, _BATCH_BYTES = 32, 4 << 20  # frames searched together (fewer when large: memory)
_SAD_SAMPLES = 4  # luma samples per block side used for the distance test
# The coarse pass: 4 of the 4 x 4 samples, one in each row and column of the block.
_COARSE_POINTS = np.array([1, 7, 8, 14])
_COARSE_RATIO, _COARSE_SLACK = 1.25, 2.0  # also kept: candidates this close to the coarse best
# Verification (see _verify_then_search): groups of at least _VERIFY_MIN moving blocks; a block is
# searched fully when its match at the majority distance exceeds the probes' median best match
# times _VERIFY_RATIO plus _VERIFY_SLACK (mean absolute luma difference, 0-255).
_VERIFY_MIN, _VERIFY_PROBES = 24, 12
_VERIFY_RATIO, _VERIFY_SLACK = 1.5, 2.0
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


def _concat_vectors(vectors: Sequence[np.ndarray]) -> np.ndarray:
    """Concatenates structured vector arrays of one dtype as raw records (numpy's field-by-field
    promotion of structured dtypes costs more than the copy)."""
    if len(vectors) == 1:
        return vectors[0]
    dtype = vectors[0].dtype
    if any(v.dtype != dtype for v in vectors):
        return np.concatenate(vectors)
    raw = np.dtype((np.void, dtype.itemsize))
    return np.concatenate([v.view(raw) for v in vectors]).view(dtype)


def frame_luma(frame: av.VideoFrame) -> np.ndarray:
    """Luma plane as uint8 ``(H, W)`` without a colour conversion for 8-bit YUV formats."""
    if frame.format.name in ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12"):
        plane = frame.planes[0]
        data = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        return data[:, : plane.width]
    return frame.to_ndarray(format="gray")


class _LumaStack:
    """Decoded luma planes as slots of one ``(S, H, W)`` uint8 array, so that the blocks of every
    candidate reference frame are sampled with one gather (no per-candidate calls, no copies).

    Plain numpy rather than ``cv2.remap``: the sample sets are tiny (a few thousand points) and this
    module must never touch OpenCV's thread pool. Toggling ``cv2.setNumThreads`` around every frame
    restarted the pool and left processes forked afterwards (DataLoader workers) deadlocked.
    """

    def __init__(self, volume: np.ndarray) -> None:
        self.volume = volume
        self.flat = volume.reshape(-1)
        self.height, self.width = volume.shape[1:]
        self.plane = self.height * self.width

    def bilinear(self, slots: np.ndarray, index: np.ndarray, fx: np.ndarray, fy: np.ndarray) -> np.ndarray:
        """Bilinear samples: per row R a plane ``slots`` ``(R,)``; top-left in-plane flat indices
        ``index`` and fractions ``fx, fy`` ``(R, P)`` (clamped to the frame by the caller).
        Returns float32 ``(R, P)``."""
        step_x = 1 if self.width > 1 else 0
        step_y = self.width if self.height > 1 else 0
        at = index + (np.asarray(slots, np.intp) * self.plane)[:, None]
        flat = self.flat
        a = flat[at].astype(np.float32)
        b = flat[at + step_x].astype(np.float32)
        c = flat[at + step_y].astype(np.float32)
        d = flat[at + (step_x + step_y)].astype(np.float32)
        top = a + (b - a) * fx
        return top + ((c + (d - c) * fx) - top) * fy


def _block_pixels(vectors: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``_SAD_SAMPLES²`` whole pixels per block, evenly spread over it (the block spans
    ``[dst - w/2, dst + w/2)``; a 16-px side is sampled at 2, 6, 10, 14, a 4-px side at every pixel).

    Returns float32 ``x, y`` ``(N, P)`` (unclipped: displaced before clamping to the frame) and
    the in-plane flat indices ``(N, P)`` of the points clamped to the frame.
    """
    j = 2 * np.arange(_SAD_SAMPLES, dtype=np.int32) + 1
    bw = vectors["w"].astype(np.int32)
    bh = vectors["h"].astype(np.int32)
    xs = (vectors["dst_x"].astype(np.int32) - bw // 2)[:, None] + (j[None, :] * bw[:, None]) // (
        2 * _SAD_SAMPLES
    )
    ys = (vectors["dst_y"].astype(np.int32) - bh // 2)[:, None] + (j[None, :] * bh[:, None]) // (
        2 * _SAD_SAMPLES
    )
    n = len(vectors)
    shape = (n, _SAD_SAMPLES, _SAD_SAMPLES)
    x = np.broadcast_to(xs[:, None, :], shape).reshape(n, _SAD_SAMPLES * _SAD_SAMPLES)
    y = np.broadcast_to(ys[:, :, None], shape).reshape(n, _SAD_SAMPLES * _SAD_SAMPLES)
    index = (np.clip(y, 0, height - 1) * width + np.clip(x, 0, width - 1)).astype(np.intp)
    return x.astype(np.float32), y.astype(np.float32), index


def _mad(ref: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Mean absolute difference over the last axis (the P samples of a block)."""
    return np.abs(ref - current).mean(axis=-1, dtype=np.float32)


def _search_batch(
    stack: _LumaStack,
    frames: Sequence[tuple[int, np.ndarray, Mapping[int, int]]],
    max_distance: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`reference_distances` for F frames in one vectorised pass over all their vectors.

    Args:
        stack: the luma planes.
        frames: per frame ``(plane of its luma, its vectors, signed offset -> plane of that
            reference)``.
        max_distance: largest distance tried in each direction.

    Returns:
        the concatenated vectors' distances int64 ``(M,)``, their mean absolute luma differences
        float32 ``(M,)`` and the frame number ``(M,)`` of each vector.
    """
    d_max = max_distance
    n_frames = len(frames)
    lengths = [len(v) for _, v, _ in frames]
    vec = _concat_vectors([v for _, v, _ in frames])
    m = len(vec)
    fid = np.repeat(np.arange(n_frames, dtype=np.intp), lengths)
    # slots[f, side, k - 1]: plane of frame f's reference k frames back (side 0) / ahead (side 1).
    slots = np.full((n_frames, 2, d_max), -1, np.intp)
    for f, (_, _, slot_of) in enumerate(frames):
        for off, slot in slot_of.items():
            if off != 0 and abs(off) <= d_max:
                slots[f, int(off > 0), abs(off) - 1] = slot
    forward = vec["source"] > 0
    direction = np.where(forward, 1, -1)
    side = forward.astype(np.intp)
    group = fid * 2 + side  # (frame, direction)
    scale = vec["motion_scale"].astype(np.float32)
    dx = (vec["motion_x"] / scale).astype(np.float32)
    dy = (vec["motion_y"] / scale).astype(np.float32)
    static = (dx == 0) & (dy == 0)  # zero motion whatever the distance
    has_forward = np.bincount(fid[forward], minlength=n_frames) > 0
    has_backward = np.bincount(fid[~forward], minlength=n_frames) > 0
    # Without forward vectors (P-frames) no bi-predicted pair needs the match quality
    # (drop_unused_predictions keeps every vector): static blocks are not sampled, and a frame
    # whose probe blocks agree on one distance needs no full search.
    need_sad = has_forward[fid]
    avail = slots[fid, side] >= 0  # (M, D): candidate distances per vector
    has_any = avail.any(axis=1)
    sad = np.full((m, d_max), np.inf, np.float32)
    # A static vector's match quality matters only where drop_unused_predictions weighs it against a
    # moving vector of the same block (a stale zero vector of a B block); elsewhere it is 0.
    still_sampled = static & has_any & need_sad
    if still_sampled.any():
        _, block = np.unique(_block_key(vec, fid), return_inverse=True)
        block = block.reshape(-1)
        mixed = np.bincount(block, weights=(~static).astype(np.float64)) > 0
        still_sampled &= mixed[block]
    # Samples are taken only for the blocks that need them: (re)numbered by ``pos``.
    needed = np.flatnonzero((~static & has_any) | still_sampled)
    pos = np.zeros(m, np.intp)
    pos[needed] = np.arange(needed.size)
    px, py, index = _block_pixels(vec[needed], stack.height, stack.width)
    cur_slot = np.repeat(np.array([c for c, _, _ in frames], np.intp), lengths)[needed]
    current = stack.flat[index + (cur_slot * stack.plane)[:, None]].astype(np.float32)

    still = np.flatnonzero(static & has_any)
    if still.size:
        k0 = np.argmax(avail[still], axis=1)  # nearest available reference
        values = np.zeros(still.size, np.float32)
        sampled = still_sampled[still]
        if sampled.any():
            rows = still[sampled]
            plane = slots[fid[rows], side[rows], k0[sampled]]
            at = pos[rows]
            ref = stack.flat[index[at] + (plane * stack.plane)[:, None]].astype(np.float32)
            values[sampled] = _mad(ref, current[at])
        sad[still, k0] = values

    def table(rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(R, D) mean absolute differences of moving ``rows`` at the distances in ``mask`` (inf
        elsewhere). With more than two candidates, a coarse pass on 4 of the 16 samples first
        drops the candidates that clearly match worse than the block's best two."""
        out = np.full((rows.size, d_max), np.inf, np.float32)
        at = pos[rows]
        qx = np.clip(px[at] + dx[rows, None], 0.0, stack.width - 1.0)
        qy = np.clip(py[at] + dy[rows, None], 0.0, stack.height - 1.0)
        x0 = np.minimum(qx.astype(np.int32), max(stack.width - 2, 0))  # qx >= 0: floor
        y0 = np.minimum(qy.astype(np.int32), max(stack.height - 2, 0))
        coords = (y0 * stack.width + x0, qx - x0, qy - y0)
        cur = current[at]

        def fill(target: np.ndarray, wanted: np.ndarray, points: slice | np.ndarray) -> None:
            for k in range(d_max):
                sel = np.flatnonzero(wanted[:, k])
                if sel.size:
                    plane = slots[fid[rows[sel]], side[rows[sel]], k]
                    c = [coord[sel][:, points] for coord in coords]
                    target[sel, k] = _mad(stack.bilinear(plane, *c), cur[sel][:, points])

        if mask.sum(axis=1).max(initial=0) > 2:
            coarse = np.full_like(out, np.inf)
            fill(coarse, mask, _COARSE_POINTS)
            ordered = np.sort(coarse, axis=1)
            keep = coarse <= np.maximum(ordered[:, 1:2], ordered[:, :1] * _COARSE_RATIO + _COARSE_SLACK)
            mask = mask & keep
        fill(out, mask, slice(None))
        return out

    moving = np.flatnonzero(~static & has_any)
    moving = moving[np.argsort(group[moving], kind="stable")]  # grouped, in block order
    cand = avail[moving]
    # A single candidate distance, and no match quality needed (P-frame): no search at all.
    settled = (cand.sum(axis=1) == 1) & ~need_sad[moving]
    fixed = np.zeros(m, np.int64)
    fixed[moving[settled]] = direction[moving[settled]] * (np.argmax(cand[settled], axis=1) + 1)
    searched_rows = moving[~settled]
    if searched_rows.size:
        _verify_then_search(searched_rows, cand[~settled], group, n_frames, d_max, sad, table)

    best = np.argmin(sad, axis=1)
    rows_all = np.arange(m)
    best_sad = sad[rows_all, best]
    distance = np.where(np.isfinite(best_sad), (best + 1) * direction, 0)
    # Blocks that barely move or cannot tell candidates apart follow the majority distance of
    # their frame and direction (x264 mostly uses one reference per direction and frame).
    searched = fixed == 0
    voters = np.isfinite(best_sad) & searched
    far = voters & (np.hypot(dx, dy) >= 1.0)
    votes = np.bincount(group[far] * d_max + best[far], minlength=2 * n_frames * d_max)
    votes = votes.reshape(2 * n_frames, d_max)
    major = np.argmax(votes, axis=1)[group]
    close = voters & (votes.sum(axis=1) > 0)[group]
    close &= sad[rows_all, major] <= best_sad * _VOTE_RATIO + _VOTE_SLACK
    distance[close] = (major[close] + 1) * direction[close]
    distance = np.where(searched, distance, fixed)
    # One direction only: a static block is zero motion at any distance (its nearest reference).
    unknown = static & (distance == 0) & ~(has_forward & has_backward)[fid]
    distance[unknown] = direction[unknown]
    chosen = np.maximum(np.abs(distance) - 1, 0)
    chosen_sad = np.where(searched, sad[rows_all, chosen], 0.0)
    chosen_sad = np.where(distance == 0, np.inf, chosen_sad)
    return distance.astype(np.int64), chosen_sad.astype(np.float32), fid


def _verify_then_search(
    rows: np.ndarray,
    cand: np.ndarray,
    group: np.ndarray,
    n_frames: int,
    d_max: int,
    sad: np.ndarray,
    table: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> None:
    """Fills ``sad[rows]`` (rows sorted by group, candidate masks ``cand`` ``(R, D)``).

    In a frame and direction with many moving blocks and several candidates, _VERIFY_PROBES evenly
    spread blocks are searched fully; their majority distance k* is then only verified on the other
    blocks (one candidate), and a block is searched fully only when it matches worse at k* than the
    probes typically match at their best (a block using a rarer reference, or a poor match).
    """
    g = group[rows]
    count = np.bincount(g, minlength=2 * n_frames)
    first = np.cumsum(count) - count
    several = np.zeros(2 * n_frames, bool)
    several[g[cand.sum(axis=1) > 1]] = True
    verified = np.flatnonzero(several & (count >= _VERIFY_MIN))
    full = np.ones(rows.size, bool)
    if verified.size:
        probes = _VERIFY_PROBES
        spread = (np.arange(probes)[None, :] * (count[verified, None] - 1)) // (probes - 1)
        at = (first[verified, None] + spread).reshape(-1)  # distinct: count >= _VERIFY_MIN > probes
        probe_table = table(rows[at], cand[at])
        sad[rows[at]] = probe_table
        full[at] = False
        best = np.argmin(probe_table, axis=1)
        votes = np.bincount(g[at] * d_max + best, minlength=2 * n_frames * d_max)
        k_star = np.argmax(votes.reshape(2 * n_frames, d_max), axis=1)
        typical = np.median(probe_table.min(axis=1).reshape(verified.size, probes), axis=1)
        limit = np.full(2 * n_frames, -np.inf, np.float32)
        limit[verified] = typical * _VERIFY_RATIO + _VERIFY_SLACK
        rest = np.flatnonzero(full & np.isin(g, verified))
        if rest.size:
            k = k_star[g[rest]]
            only = np.zeros((rest.size, d_max), bool)
            only[np.arange(rest.size), k] = cand[rest, k]
            single = table(rows[rest], only)
            ok = single[np.arange(rest.size), k] <= limit[g[rest]]
            sad[rows[rest[ok]]] = single[ok]
            full[rest[ok]] = False
    if full.any():
        sad[rows[full]] = table(rows[full], cand[full])  # quarter-pel: bilinear samples


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
        (inf when unknown; 0 where it was not needed: one-direction frames whose probe blocks agree
        on one distance, and their static blocks).
    """
    offsets = [off for off in references if off != 0 and abs(off) <= max_distance]
    if len(vectors) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    stack = _LumaStack(np.stack([luma, *(references[off] for off in offsets)]))
    slot_of = {off: i + 1 for i, off in enumerate(offsets)}
    distance, sad, _ = _search_batch(stack, [(0, vectors, slot_of)], max_distance)
    return distance, sad


def _block_key(vectors: np.ndarray, frame_id: np.ndarray) -> np.ndarray:
    """int64 key of each vector's block (frame, position, size): vectors of one block share it."""
    if len(frame_id) and int(frame_id.max()) > 255:
        raise ValueError("at most 256 frames at once.")
    return (
        (vectors["dst_x"].astype(np.int64) + 32768) << 40
        | frame_id.astype(np.int64) << 32
        | (vectors["dst_y"].astype(np.int64) + 32768) << 16
        | vectors["w"].astype(np.int64) << 8
        | vectors["h"].astype(np.int64)
    )


def drop_unused_predictions(
    vectors: np.ndarray, sad: np.ndarray, frame_id: np.ndarray | None = None
) -> np.ndarray:
    """Boolean ``(N,)`` mask of vectors to keep.

    FFmpeg exports both directions of a B macroblock even when one partition predicts from one list
    only; the unused direction then carries a stale (often zero) vector that matches nothing. Of the
    vectors exported for the same block, those matching much worse than the best one are dropped.
    ``frame_id`` ``(N,)`` (vectors of several frames at once) keeps the frames apart.
    """
    forward = vectors["source"] > 0
    if frame_id is None:
        frame_id = np.zeros(len(vectors), np.intp)
    n_frames = int(frame_id.max()) + 1 if len(vectors) else 0
    frames_with_forward = np.bincount(frame_id[forward], minlength=n_frames) > 0
    if not frames_with_forward.any():
        return np.ones(len(vectors), bool)  # one direction only: every block has one vector
    _, group = np.unique(_block_key(vectors, frame_id), return_inverse=True)
    group = group.reshape(-1)
    best = np.full(group.max() + 1 if group.size else 0, np.inf, np.float32)
    np.minimum.at(best, group, sad)
    return (sad <= best[group] * 1.25 + 1.0) | ~frames_with_forward[frame_id]


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
    vec = _concat_vectors(vectors)
    val = np.concatenate(values).astype(np.float32, copy=False)
    frame_id = np.repeat(np.arange(frames, dtype=np.int32), lengths)
    keep = ~np.isnan(val[:, 0])
    if not keep.all():
        vec, val, frame_id = vec[keep], val[keep], frame_id[keep]
    w = vec["w"].astype(np.int32)
    h = vec["h"].astype(np.int32)
    left = vec["dst_x"].astype(np.int32) - w // 2
    top = vec["dst_y"].astype(np.int32) - h // 2
    val = val.astype(np.float64)
    total = frames * gh * gw
    # Macroblocks (2 x 2 cells, aligned, inside the frame; most vectors) are accumulated on a grid of
    # twice the cell size and spread to their four cells afterwards: a quarter of the work.
    big = (w == 2 * grid) & (h == 2 * grid) & (left % (2 * grid) == 0) & (top % (2 * grid) == 0)
    big &= (left >= 0) & (top >= 0) & (left + w <= width) & (top + h <= height)
    count = np.zeros(total)
    sx = np.zeros(total)
    sy = np.zeros(total)
    if big.any():
        gh2, gw2 = -(-gh // 2), -(-gw // 2)
        cell = (frame_id[big] * gh2 + top[big] // (2 * grid)) * gw2 + left[big] // (2 * grid)
        area = float(grid * grid)  # per cell
        sums = [
            np.bincount(cell, minlength=frames * gh2 * gw2) * area,
            np.bincount(cell, weights=val[big, 0], minlength=frames * gh2 * gw2) * area,
            np.bincount(cell, weights=val[big, 1], minlength=frames * gh2 * gw2) * area,
        ]
        for acc, coarse in zip((count, sx, sy), sums):
            fine = np.broadcast_to(coarse.reshape(frames, gh2, 1, gw2, 1), (frames, gh2, 2, gw2, 2)).reshape(
                frames, 2 * gh2, 2 * gw2
            )
            acc += fine[:, :gh, :gw].reshape(-1)
    rest = ~big
    if rest.any():
        w, h, left, top, val, frame_id = w[rest], h[rest], left[rest], top[rest], val[rest], frame_id[rest]
        unit_w = np.minimum(w, grid)
        unit_h = np.minimum(h, grid)
        bw = w // unit_w
        counts = bw * (h // unit_h)
        # Integer arithmetic throughout: block edges are whole pixels (H.264/MPEG sizes are even).
        if np.all(counts == 1):
            cx = left + unit_w // 2
            cy = top + unit_h // 2
            owner = np.arange(len(w), dtype=np.int32)
        else:
            owner = np.repeat(np.arange(len(w), dtype=np.int32), counts)
            start = np.cumsum(counts) - counts
            k = np.arange(owner.size, dtype=np.int32) - start[owner]
            bwo = bw[owner]
            cx = left[owner] + (k % bwo) * unit_w[owner] + unit_w[owner] // 2
            cy = top[owner] + (k // bwo) * unit_h[owner] + unit_h[owner] // 2
        inside = (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)
        area = (unit_w * unit_h).astype(np.float64)
        owner = owner[inside]
        cell = (frame_id[owner] * gh + cy[inside] // grid) * gw + cx[inside] // grid
        a = area[owner]
        count += np.bincount(cell, weights=a, minlength=total)
        sx += np.bincount(cell, weights=val[owner, 0] * a, minlength=total)
        sy += np.bincount(cell, weights=val[owner, 1] * a, minlength=total)
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
        self._luma: dict[int, int] = {}  # frame index -> plane of self._stack holding its luma
        # Frames whose references are all decoded wait in a batch of at most ``_batch`` frames (fewer
        # for large frames, see _BATCH_BYTES) and are searched together. Live planes then span at
        # most batch + 2 * max_distance + 1 indices, so index % slots never lands on a live plane.
        self._batch = 1
        self._slots = 2 * self.max_distance + 2
        self._stack: _LumaStack | None = None
        self._ready: dict[int, tuple[np.ndarray, dict[int, int]]] = {}
        self._types: dict[int, int] = {}
        self._pending: dict[int, np.ndarray] = {}
        self._done: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # index -> (vectors, motion (N, 2))
        self.found_vectors = False

    @property
    def idle(self) -> bool:
        """True when no frame waits for a future reference (searches may still be batched)."""
        return not self._pending

    def push(self, index: int, frame: av.VideoFrame) -> None:
        """Feeds one decoded frame (presentation order)."""
        if index < self.first_wanted - self.max_distance:
            return
        if not self.search:
            if index in self.wanted:
                vectors = frame_vectors(frame)
                self.found_vectors |= vectors is not None
                # Motion is computed for all frames at once in fields().
                self._done[index] = (_NO_VECTORS, _NO_VALUES) if vectors is None else (vectors, _NO_VALUES)
            return
        luma = frame_luma(frame)
        if self._stack is None or self._stack.volume.shape[1:] != luma.shape:
            self._flush()
            self._batch = int(np.clip(_BATCH_BYTES // max(luma.size, 1), 1, _BATCH_FRAMES))
            self._slots = self._batch + 2 * self.max_distance + 2
            self._stack = _LumaStack(np.empty((self._slots, *luma.shape), np.uint8))
            self._luma.clear()
        slot = index % self._slots
        if index - self._slots in self._luma:  # cannot happen (see __init__): never overwrite silently
            raise RuntimeError(f"luma of frame {index - self._slots} still needed when frame {index} arrived")
        self._stack.volume[slot] = luma
        self._luma[index] = slot
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
        self._flush()

    def fields(self) -> dict[int, np.ndarray]:
        """Frame index -> float32 ``(h, w, 2)`` per-frame motion, gaps filled."""
        self.finish()
        keys = sorted(self._done)
        if not self.search:  # every vector spans one frame
            vectors = _concat_vectors([self._done[k][0] for k in keys]) if keys else _NO_VECTORS
            values = vector_motion(vectors, np.where(vectors["source"] > 0, 1, -1))
            ends = np.cumsum([len(self._done[k][0]) for k in keys])
            for key, begin, end in zip(keys, ends - [len(self._done[k][0]) for k in keys], ends):
                self._done[key] = (self._done[key][0], values[begin:end])
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

    def _flush(self) -> None:
        """Searches the reference distances of the ready frames, all in one vectorised pass."""
        if not self._ready:
            return
        assert self._stack is not None
        keys = sorted(self._ready)
        batch = [(self._luma[k], *self._ready[k]) for k in keys]
        distances, sad, frame_id = _search_batch(self._stack, batch, self.max_distance)
        vectors = _concat_vectors([b[1] for b in batch])
        values = vector_motion(vectors, distances)
        values[~drop_unused_predictions(vectors, sad, frame_id)] = np.nan
        ends = np.cumsum([len(b[1]) for b in batch])
        starts = ends - np.array([len(b[1]) for b in batch])
        for key, begin, end, (_, vecs, _) in zip(keys, starts, ends, batch):
            self._done[key] = (vecs, values[begin:end])
        self._ready.clear()

    def _process(self, latest: int, final: bool) -> None:
        for index in sorted(self._pending):
            vectors = self._pending[index]
            horizon = index + self.max_distance
            if np.any(vectors["source"] > 0) and not final:
                anchor = self._next_anchor(index, latest)
                if anchor is None and latest < horizon:
                    continue
                horizon = min(horizon, anchor if anchor is not None else horizon)
            slot_of = {
                off: self._luma[index + off]
                for off in range(-self.max_distance, self.max_distance + 1)
                if off != 0 and index + off in self._luma and index + off <= horizon
            }
            self._ready[index] = (vectors, slot_of)
            del self._pending[index]
        if self._ready and (
            final or len(self._ready) >= self._batch or latest - min(self._ready) >= self._batch
        ):
            self._flush()
        oldest = min([*self._pending, *self._ready], default=latest) - self.max_distance
        for key in [k for k in self._luma if k < oldest]:
            del self._luma[key]
