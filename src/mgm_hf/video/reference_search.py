"""How many frames away each motion vector's reference frame is, found from the decoded luma.

FFmpeg exports a vector's direction (``source < 0``: a past reference, ``> 0``: a future one) but
not its distance, and frame types do not settle it: x264 with default settings makes P-frames
point 2 frames back even without B-frames, and with B-frames and 3 references a vector may span
1 to 8 frames. A square moving 3 px/frame shows up as 3, 6, 12 or -3 px. The decoder knows each
block's reference index, but ``AVMotionVector`` has no field for it (libavutil/motion_vector.h:
"XXX: set exact relative ref frame reference instead of a +/- 1 'direction'"), and PyAV's wheels
bundle that FFmpeg. So the distance is recovered from pixels, and this search is most of what exact
motion costs over a plain decode (x264 defaults, 224² to 720p, strides 2 and 4: 8–21 % of the plain
decode's CPU time, against 1–3 % for the decoder's own export, ``benchmarks/video.py``).

The search (compiled with numba, one call per frame, on the decoder's own luma planes, no copies):

1. A block is sampled at 4 × 4 whole pixels evenly spread over it; a candidate distance k is scored
   by the mean absolute difference between those samples and the reference frame k frames away in
   the vector's direction, displaced by the vector (bilinear: vectors are quarter-pel).
2. Candidates are the frames that can be references: decoded before the current frame and not
   marked as non-reference (:func:`reference_window`, from the packets, see
   :class:`mgm_hf.video.decode_order.DecodeOrder`). Work that cannot change the result is skipped:
   a zero vector is zero motion at any distance; a vector with one candidate frame is settled.
3. Blocks are visited in the decoder's order (raster). A block whose displacement equals, to a
   quarter pixel, that of a resolved neighbour (same or left or upper macroblock, same direction)
   follows it: the same motion predicted from the same reference (encoders predict vectors from
   those neighbours; a wrong distance would need another object moving at another speed whose
   displacement coincides). Any other block is first *verified* at the distance that gives a
   resolved neighbour's motion (an encoder picks among equally good references block by block,
   while the motion is locally smooth), then at the frame's majority so far: accepted when it
   matches there clearly better than its own texture varies (a wrong distance displaces the
   texture by at least a pixel); otherwise every candidate is scored (more than 4: a coarse pass
   on 4 of the 16 samples first drops those clearly worse than the best two).
4. Searched blocks that barely tell their best candidate from the frame's majority follow the
   majority (x264 mostly uses one reference per direction and frame); blocks moving less than a
   pixel take the majority (their distance changes their motion by less than their displacement).
5. Of the two directions FFmpeg exports for a B macroblock, a zero vector next to a moving one is
   the unused direction (FFmpeg writes zero vectors for the list a partition does not use); next
   to one moving less than a pixel the worse match is.

Scores cost memory traffic more than arithmetic (rows of planes decoded up to 8 frames earlier):
on x264-default video of a panning scene the search took about 40 µs per frame at 224² and 350 µs
per P-frame at 720p here.

Streams whose sequence parameter set allows one reference frame and no reordering need none of
this (every vector spans one frame): see :func:`mgm_hf.video.h264_sps.exact_motion_stream`.

Planes are passed as addresses (``frame.planes[0].buffer_ptr``) with their line sizes; the caller
keeps the frames alive while a call runs (:class:`mgm_hf.video.motion_vectors.MotionVectorTracker`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numba import carray, njit, types
from numba.core.extending import intrinsic

__all__ = [
    "VECTOR_COLUMNS",
    "block_partners",
    "frame_distances",
    "parsed_vectors",
    "reference_distances",
    "reference_window",
    "unit_map_shape",
]

#: Columns of the int32 ``blocks`` array that describes parsed vectors (see :func:`parsed_vectors`).
VECTOR_COLUMNS = ("source", "w", "h", "dst_x", "dst_y")

_SAMPLES = 4  # luma samples per block side
_COARSE = (1, 7, 8, 14)  # the coarse pass: 4 of the 4 x 4 samples, one per row and column
# More candidates than _COARSE_FROM are first scored on 4 of the 16 samples (below that the coarse pass
# saves nothing: the cost is fetching the rows); candidates this close to the best two are kept.
_COARSE_FROM = 4
_COARSE_RATIO, _COARSE_SLACK = 1.25, 2.0  # candidates this close to the coarse best two are kept
# A guessed distance is accepted when the block matches there within this share of its own
# texture's mean absolute deviation (+ slack, luma levels); a wrong one displaces the texture.
_VERIFY_SHARE, _VERIFY_SLACK = 0.4, 0.5
_VOTE_RATIO, _VOTE_SLACK = 1.05, 0.5  # a block this close to its best follows the majority
_MIN_VOTE_MOTION = 1.0  # px: blocks moving less do not vote
_PICT_B = 3  # AVPictureType of B-frames
_DROP_RATIO, _DROP_SLACK = 1.25, 1.0  # of a B-block's two directions, one matching this much worse is unused
_LINK_TOLERANCE = 0.25  # px per component: neighbours this close in displacement share the reference


@intrinsic
def _uint8_pointer(typingctx, address):
    """An integer address as a ``uint8*`` (for :func:`numba.carray`)."""
    if not isinstance(address, types.Integer):
        return None
    pointer = types.CPointer(types.uint8)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(pointer))

    return pointer(address), codegen


@njit(cache=True, nogil=True)
def _plane(address, height, line_size):
    """The luma plane at ``address`` as a uint8 ``(height, line_size)`` view."""
    return carray(_uint8_pointer(address), (height, line_size))


@njit(cache=True, nogil=True)
def _block_mad(cur, ref, block, dx, dy, height, width, coarse):
    """Mean absolute difference between a block's samples in ``cur`` and ``ref`` displaced by
    ``(dx, dy)`` (bilinear, clamped to the frame); ``coarse`` uses 4 of the 16 samples."""
    w, h = block[1], block[2]
    left, top = block[3] - w // 2, block[4] - h // 2
    max_x0, max_y0 = max(width - 2, 0), max(height - 2, 0)
    step_x = 1 if width > 1 else 0
    step_y = 1 if height > 1 else 0
    total = np.float32(0.0)
    count = len(_COARSE) if coarse else _SAMPLES * _SAMPLES
    for q in range(count):
        p = _COARSE[q] if coarse else q
        row, col = p // _SAMPLES, p % _SAMPLES
        x = left + ((2 * col + 1) * w) // (2 * _SAMPLES)
        y = top + ((2 * row + 1) * h) // (2 * _SAMPLES)
        current = np.float32(cur[min(max(y, 0), height - 1), min(max(x, 0), width - 1)])
        qx = min(max(np.float32(x) + dx, np.float32(0.0)), np.float32(width - 1))
        qy = min(max(np.float32(y) + dy, np.float32(0.0)), np.float32(height - 1))
        x0 = min(int(qx), max_x0)
        y0 = min(int(qy), max_y0)
        fx = qx - np.float32(x0)
        fy = qy - np.float32(y0)
        a = np.float32(ref[y0, x0])
        b = np.float32(ref[y0, x0 + step_x])
        c = np.float32(ref[y0 + step_y, x0])
        d = np.float32(ref[y0 + step_y, x0 + step_x])
        upper = a + (b - a) * fx
        value = upper + ((c + (d - c) * fx) - upper) * fy
        total += abs(value - current)
    return total / np.float32(count)


@njit(cache=True, nogil=True)
def _contrast(cur, block, height, width):
    """Mean absolute deviation of a block's 16 samples from their mean (how much its texture varies)."""
    w, h = block[1], block[2]
    left, top = block[3] - w // 2, block[4] - h // 2
    values = np.empty(_SAMPLES * _SAMPLES, np.float32)
    for p in range(_SAMPLES * _SAMPLES):
        row, col = p // _SAMPLES, p % _SAMPLES
        x = left + ((2 * col + 1) * w) // (2 * _SAMPLES)
        y = top + ((2 * row + 1) * h) // (2 * _SAMPLES)
        values[p] = cur[min(max(y, 0), height - 1), min(max(x, 0), width - 1)]
    mean = values.mean()
    return np.abs(values - mean).mean()


@njit(cache=True, nogil=True)
def _score(i, k, side, blocks, disp, cur, addresses, line_sizes, max_distance, height, width, coarse):
    slot = max_distance + (k if side == 1 else -k)
    ref = _plane(addresses[slot], height, line_sizes[slot])
    return _block_mad(cur, ref, blocks[i], disp[i, 0], disp[i, 1], height, width, coarse)


@njit(cache=True, nogil=True)
def _full_search(i, side, avail, blocks, disp, cur, addresses, line_sizes, max_distance, height, width, table):
    """Scores every available candidate of vector ``i`` not scored yet into ``table[i]`` (inf where not
    scored); with more than _COARSE_FROM candidates a coarse pass first drops the clearly worse ones."""
    n_cand = 0
    for k in range(1, max_distance + 1):
        if avail[side, k - 1]:
            n_cand += 1
    keep = np.ones(max_distance, np.bool_)
    if n_cand > _COARSE_FROM:
        first, second = np.inf, np.inf
        coarse = np.full(max_distance, np.inf, np.float32)
        for k in range(1, max_distance + 1):
            if avail[side, k - 1]:
                value = table[i, k - 1]
                if value == np.inf:
                    value = _score(i, k, side, blocks, disp, cur, addresses, line_sizes, max_distance, height,
                                   width, True)
                coarse[k - 1] = value
                if value < first:
                    first, second = value, first
                elif value < second:
                    second = value
        bound = max(second, first * _COARSE_RATIO + _COARSE_SLACK)
        for k in range(max_distance):
            keep[k] = coarse[k] <= bound
    for k in range(1, max_distance + 1):
        if avail[side, k - 1] and keep[k - 1] and table[i, k - 1] == np.inf:
            table[i, k - 1] = _score(i, k, side, blocks, disp, cur, addresses, line_sizes, max_distance, height,
                                     width, False)


@njit(cache=True, nogil=True)
def _best(row):
    """(index, value) of the smallest entry of ``row`` (first on ties; index -1 when all inf)."""
    best, value = -1, np.inf
    for k in range(row.size):
        if row[k] < value:
            best, value = k, row[k]
    return best, value


@njit(cache=True, nogil=True)
def _side_of(blocks, i):
    return 1 if blocks[i, 0] > 0 else 0


@njit(cache=True, nogil=True)
def _neighbours(i, blocks, disp, status, units, n):
    """Resolved vectors in the same direction in vector ``i``'s macroblock, the one left of it and the
    one above: (one with the same displacement, to a quarter pixel, or -1; any one or -1).

    ``units[side, y, x]`` names (index + 1) the last resolved vector whose centre lies in macroblock
    (y, x); entries left from earlier frames are rejected by checking that the vector named does."""
    side = _side_of(blocks, i)
    my, mx = blocks[i, 4] >> 4, blocks[i, 3] >> 4
    same, other = -1, -1
    for cy, cx in ((my, mx), (my, mx - 1), (my - 1, mx)):
        if cy < 0 or cx < 0 or cy >= units.shape[1] or cx >= units.shape[2]:
            continue
        j = units[side, cy, cx] - 1
        if j < 0 or j >= n or j == i or not (status[j] == 1 or status[j] == 2) or _side_of(blocks, j) != side:
            continue
        if blocks[j, 4] >> 4 != cy or blocks[j, 3] >> 4 != cx:
            continue
        if abs(disp[j, 0] - disp[i, 0]) <= _LINK_TOLERANCE and abs(disp[j, 1] - disp[i, 1]) <= _LINK_TOLERANCE:
            return j, j
        if other < 0:
            other = j
    return same, other


@njit(cache=True, nogil=True)
def _mark_units(i, blocks, units):
    y, x = blocks[i, 4] >> 4, blocks[i, 3] >> 4
    if 0 <= y < units.shape[1] and 0 <= x < units.shape[2]:
        units[_side_of(blocks, i), y, x] = i + 1


@njit(cache=True, nogil=True)
def frame_distances(
    blocks, disp, partner, n, addresses, line_sizes, max_distance, height, width, distance, sad, table, work, units
):
    """Reference distance of each of a frame's ``n`` vectors (the module docstring's steps), and which
    direction of each bi-predicted block is used.

    Args:
        blocks: int32 ``(N >= n, 5)`` per vector ``source, w, h, dst_x, dst_y`` (:data:`VECTOR_COLUMNS`).
        disp: float32 ``(N, 2)``: ``(dx, dy) = motion / motion_scale = src - dst`` in pixels.
        partner: int32 ``(N,)``: the vector of the same block in the other direction, or -1.
        n: number of vectors.
        addresses: int64 ``(2 D + 1,)``: address of the luma plane of the frame ``o - D`` frames away
            (``o`` = index): ``[D]`` is the current frame; 0 where that frame is not a candidate.
        line_sizes: int64 ``(2 D + 1,)``: their line sizes in bytes.
        max_distance: D.
        height, width: frame size.
        distance: int32 ``(N,)`` output: ``-k`` (k frames back), ``+k`` (ahead); 0 when unknown (no
            candidate frame) or unused (the stale direction of a B-block).
        sad: float32 ``(N,)`` output: the mean absolute luma difference at that distance where it was
            sampled (NaN elsewhere).
        table: float32 ``(N, D)`` and work: int32 ``(N, 4)`` work arrays.
        units: int32 ``(2, *unit_map_shape(H, W))`` work array (any content).
    """
    d_max = max_distance
    cur = _plane(addresses[d_max], height, line_sizes[d_max])
    status = work[:, 0]  # 0 waiting, 1 searched, 2 linked, 3 settled
    link = work[:, 1]  # linked: the searched vector it follows
    order = work[:, 2]
    choice = work[:, 3]  # searched or linked: the best candidate (k - 1; -1 when none matched)
    avail = np.zeros((2, d_max), np.bool_)
    for k in range(1, d_max + 1):
        avail[0, k - 1] = addresses[d_max - k] != 0
        avail[1, k - 1] = addresses[d_max + k] != 0
    n_avail = np.zeros(2, np.int64)
    nearest = np.full(2, -1, np.int64)
    for side in range(2):
        for k in range(d_max, 0, -1):
            if avail[side, k - 1]:
                n_avail[side] += 1
                nearest[side] = k
    seen = np.zeros(2, np.bool_)
    for i in range(n):
        seen[_side_of(blocks, i)] = True
    both = seen[0] and seen[1]
    # 1. Classify: static and unsearchable vectors are settled at once; moving ones wait, grouped per
    #    side in block order (big movers first, then the ones moving less than _MIN_VOTE_MOTION).
    counts = np.zeros((2, 2), np.int64)  # [side, tiny]
    for i in range(n):
        side = _side_of(blocks, i)
        sign = 1 if side == 1 else -1
        static = disp[i, 0] == 0 and disp[i, 1] == 0
        sad[i] = np.nan
        status[i] = 3
        if n_avail[side] == 0:  # no candidate frame: unknown (static: zero at any distance)
            distance[i] = sign if (static and not both) else 0
        elif static or n_avail[side] == 1:
            distance[i] = sign * nearest[side]
        else:
            distance[i] = 0
            status[i] = 0
            counts[side, 1 if math.hypot(disp[i, 0], disp[i, 1]) < _MIN_VOTE_MOTION else 0] += 1
            for k in range(d_max):
                table[i, k] = np.inf
    start = np.zeros((2, 2), np.int64)
    at = 0
    for side in range(2):
        for tiny in range(2):
            start[side, tiny] = at
            at += counts[side, tiny]
    fill = start.copy()
    for i in range(n):
        if status[i] == 0:
            side = _side_of(blocks, i)
            tiny = 1 if math.hypot(disp[i, 0], disp[i, 1]) < _MIN_VOTE_MOTION else 0
            order[fill[side, tiny]] = i
            fill[side, tiny] += 1
    for side in range(2):
        sign = 1 if side == 1 else -1
        # 2. The big movers, in block order: follow an identical neighbour, or verify at a
        #    neighbour's (else the majority's) distance, or search every candidate.
        big = order[start[side, 0] : start[side, 0] + counts[side, 0]]
        votes = np.zeros(d_max, np.int64)
        for i in big:
            same, other = _neighbours(i, blocks, disp, status, units, n)
            if same >= 0:
                root = link[same] if status[same] == 2 else same
                status[i], link[i], choice[i] = 2, root, choice[root]
            else:
                status[i] = 1
                # Guesses: the distance that gives a neighbour's motion (motion is locally smooth, while
                # an encoder picks among equally good references block by block), then the majority.
                first = -1
                if other >= 0 and choice[other] >= 0:
                    k_other = np.float32(choice[other] + 1)
                    mx, my = disp[other, 0] / k_other, disp[other, 1] / k_other
                    error = np.inf
                    for k in range(1, d_max + 1):
                        if avail[side, k - 1]:
                            e = abs(disp[i, 0] / np.float32(k) - mx) + abs(disp[i, 1] / np.float32(k) - my)
                            if e < error:
                                first, error = k - 1, e
                second = np.argmax(votes) if votes.max() > 0 else -1
                limit = _contrast(cur, blocks[i], height, width) * _VERIFY_SHARE + _VERIFY_SLACK
                verified = False
                for guess in (first, second):
                    if verified or guess < 0 or not avail[side, guess] or table[i, guess] < np.inf:
                        continue
                    value = _score(i, guess + 1, side, blocks, disp, cur, addresses, line_sizes, d_max, height,
                                   width, False)
                    table[i, guess] = value
                    verified = value <= limit
                if not verified:
                    _full_search(i, side, avail, blocks, disp, cur, addresses, line_sizes, d_max, height, width,
                                 table)
                choice[i] = _best(table[i])[0]
            if choice[i] >= 0:
                votes[choice[i]] += 1
            _mark_units(i, blocks, units)
        # 3. Close calls follow the majority (a block counts with the ones that follow it).
        major = np.argmax(votes)
        has_votes = votes[major] > 0
        for i in big:
            if status[i] == 1:
                k = choice[i]
                if k >= 0 and has_votes and table[i, major] <= table[i, k] * _VOTE_RATIO + _VOTE_SLACK:
                    k = major
                distance[i] = 0 if k < 0 else sign * (k + 1)
                if k >= 0:
                    sad[i] = table[i, k]
            else:
                distance[i] = distance[link[i]]
        # 4. Blocks moving less than a pixel: the majority when there is one (their distance changes
        #    their motion by less than their displacement), else their own best match.
        for i in order[start[side, 1] : start[side, 1] + counts[side, 1]]:
            if has_votes and avail[side, major]:
                distance[i] = sign * (major + 1)
                continue
            _full_search(i, side, avail, blocks, disp, cur, addresses, line_sizes, d_max, height, width, table)
            k, value = _best(table[i])
            distance[i] = 0 if k < 0 else sign * (k + 1)
            if k >= 0:
                sad[i] = value
    # 5. Bi-predicted blocks: FFmpeg exports both directions of a B macroblock even where a partition
    #    predicts from one list only, the unused one as a zero vector. A zero vector next to one
    #    moving a pixel or more is that stale direction; next to a smaller one, the worse match is.
    for i in range(n):
        p = partner[i]
        if p < 0 or not (disp[i, 0] == 0 and disp[i, 1] == 0) or (disp[p, 0] == 0 and disp[p, 1] == 0):
            continue
        if distance[p] == 0 or math.hypot(disp[p, 0], disp[p, 1]) >= _MIN_VOTE_MOTION:
            distance[i] = 0
            continue
        if distance[i] == 0:
            continue
        mine = _score(i, abs(distance[i]), _side_of(blocks, i), blocks, disp, cur, addresses, line_sizes, d_max,
                      height, width, False)
        if np.isnan(sad[p]):
            sad[p] = _score(p, abs(distance[p]), _side_of(blocks, p), blocks, disp, cur, addresses, line_sizes,
                            d_max, height, width, False)
        sad[i] = mine
        best = min(mine, sad[p])
        if mine > best * _DROP_RATIO + _DROP_SLACK:
            distance[i] = 0
        elif sad[p] > best * _DROP_RATIO + _DROP_SLACK:
            distance[p] = 0


@njit(cache=True, nogil=True)
def reference_window(ring_index, ring_address, ring_line, ring_type, ring_rank, ring_ref, index, horizon,
                     max_distance, addresses, line_sizes):
    """Fills ``addresses``/``line_sizes`` ``(2 D + 1,)`` for frame ``index`` (see
    :func:`frame_distances`) from a ring of held frames: slot ``j % ring`` holds frame
    ``ring_index[slot]`` at ``ring_address[slot]``, its picture type (3 = B), decoding rank and
    reference flag (1 / 0; -1 unknown, see :class:`mgm_hf.video.decode_order.DecodeOrder`).

    Candidates are the frames a reference can be: decoded before frame ``index`` and not marked as
    non-reference. Without decoding ranks: frames up to ``horizon`` (a B-frame's next anchor), and
    for a P-frame not the B-frames between it and the previous anchor (shown before it, decoded
    after it, as they predict from it).
    """
    ring = ring_index.size
    here = index % ring
    rank = ring_rank[here] if ring_index[here] == index else -1
    after_previous_anchor = ring_index[here] == index and ring_type[here] != _PICT_B
    for o in range(-max_distance, max_distance + 1):
        addresses[o + max_distance] = 0
        line_sizes[o + max_distance] = 0
    addresses[max_distance] = ring_address[here]
    line_sizes[max_distance] = ring_line[here]
    for side in (-1, 1):
        for k in range(1, max_distance + 1):
            j = index + side * k
            if j < 0 or j > horizon:
                break
            slot = j % ring
            if ring_index[slot] != j:
                continue
            if side < 0 and ring_type[slot] != _PICT_B:
                after_previous_anchor = False
            if ring_ref[slot] == 0:
                continue
            if rank >= 0 and ring_rank[slot] >= 0:
                if ring_rank[slot] > rank:
                    continue
            elif side < 0 and after_previous_anchor:
                continue
            addresses[max_distance + side * k] = ring_address[slot]
            line_sizes[max_distance + side * k] = ring_line[slot]


def parsed_vectors(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A structured vector array (fields ``source, w, h, dst_x, dst_y, motion_x, motion_y,
    motion_scale``, e.g. PyAV's ``MotionVectors.to_ndarray()``) as the kernels' arrays: int32
    ``blocks (N, 5)`` (:data:`VECTOR_COLUMNS`) and float32 ``disp (N, 2)`` (``motion / motion_scale``)."""
    blocks = np.stack([np.asarray(vectors[c], np.int32) for c in VECTOR_COLUMNS], axis=1)
    scale = np.asarray(vectors["motion_scale"], np.float64)
    if np.any(scale <= 0):
        raise ValueError("motion vectors with motion_scale <= 0.")
    disp = np.stack([vectors["motion_x"] / scale, vectors["motion_y"] / scale], axis=1).astype(np.float32)
    return np.ascontiguousarray(blocks), np.ascontiguousarray(disp)


def block_partners(blocks: np.ndarray) -> np.ndarray:
    """int32 ``(N,)``: for each vector the vector of the same block (centre and size) in the other
    direction, or -1."""
    partner = np.full(len(blocks), -1, np.int32)
    seen: dict[tuple[int, int, int, int, bool], int] = {}
    for i, (source, w, h, x, y) in enumerate(blocks.tolist()):
        key = (x, y, w, h, source > 0)
        other = seen.get((x, y, w, h, source <= 0))
        if other is not None and partner[other] < 0:
            partner[i], partner[other] = other, i
        seen.setdefault(key, i)
    return partner


def reference_distances(
    luma: np.ndarray,
    vectors: np.ndarray,
    references: Mapping[int, np.ndarray],
    max_distance: int = 4,
) -> tuple[np.ndarray, np.ndarray]:
    """Signed distance (in frames) from the current frame to each vector's reference frame (one frame
    at a time, from arrays: for tests and one-off use; decoding uses :func:`frame_distances` directly).

    Args:
        luma: uint8 ``(H, W)`` decoded luma of the current frame.
        vectors: structured array of N vectors (see :func:`parsed_vectors`).
        references: signed frame offset (``-1`` previous frame, ``+2`` two frames ahead, ...) -> luma
            ``(H, W)`` of that frame; missing offsets are not candidates.
        max_distance: largest distance tried in each direction.

    Returns:
        int64 ``(N,)``: ``-k`` for a past reference k frames back, ``+k`` ahead, 0 if no candidate
        frame was available; and float32 ``(N,)`` the mean absolute luma difference at that distance
        (inf when unknown; 0 where it was not sampled).
    """
    height, width = luma.shape
    planes = {0: np.ascontiguousarray(luma, np.uint8)}
    for off, plane in references.items():
        if off != 0 and abs(off) <= max_distance:
            if plane.shape != luma.shape:
                raise ValueError(f"reference {off} has shape {plane.shape}, the frame {luma.shape}.")
            planes[off] = np.ascontiguousarray(plane, np.uint8)
    addresses = np.zeros(2 * max_distance + 1, np.int64)
    line_sizes = np.full(2 * max_distance + 1, width, np.int64)
    for off, plane in planes.items():
        addresses[max_distance + off] = plane.ctypes.data
    blocks, disp = parsed_vectors(vectors)
    n = len(blocks)
    distance = np.zeros(n, np.int32)
    sad = np.zeros(n, np.float32)
    table = np.empty((n, max_distance), np.float32)
    work = np.empty((n, 4), np.int32)
    units = np.zeros((2, *unit_map_shape(height, width)), np.int32)
    frame_distances(blocks, disp, block_partners(blocks), n, addresses, line_sizes, max_distance, height, width,
                    distance, sad, table, work, units)
    return distance.astype(np.int64), sad


def unit_map_shape(height: int, width: int) -> tuple[int, int]:
    """Shape of one direction's map of resolved vectors (the ``units`` work array of
    :func:`frame_distances`): one cell per 16-px macroblock of the frame."""
    return -(-height // 16) + 1, -(-width // 16) + 1
