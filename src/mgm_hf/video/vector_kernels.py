"""Compiled (numba) per-vector work: read FFmpeg's raw motion-vector side data, turn vectors with
known reference distances into a dense per-frame field, fill gaps across frames, chain fields over
the stride.

Motion of a block (``motion[t]`` = how far the content moved since frame t-1, in pixels):
FFmpeg exports, per inter block, its centre ``dst`` and ``d = src - dst`` = ``motion / motion_scale``
to the matching block of a reference frame. For a past reference k frames back the content came from
``dst + d``: it moved ``-d / k`` per frame; for a future one it goes to ``dst + d``: ``+d / k``.

Why compiled: per frame there are hundreds to thousands of vectors, and the budget is a tenth of
what FFmpeg spends decoding the frame (about 0.2 ms at 224², 2 ms at 720p). In numpy the fixed cost
per operation alone exceeded that; numba (wheels on every platform, no compiler at install) runs
each of these kernels in a few microseconds per frame. Kernels are compiled with ``cache=True``
(on disk next to this file) and warmed up at import (:func:`mgm_hf.video.motion_vectors.warm_up`), so
DataLoader workers forked later inherit them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["AVMOTIONVECTOR_SIZE", "chain_fields", "fill_gaps", "frame_field", "read_vectors", "unit_distances"]

#: ``sizeof(AVMotionVector)``: int32 source; uint8 w, h; int16 src_x, src_y, dst_x, dst_y; (pad);
#: uint64 flags at 16; int32 motion_x at 24, motion_y at 28; uint16 motion_scale at 32; (pad) to 40.
AVMOTIONVECTOR_SIZE = 40


@njit(cache=True, nogil=True)
def read_vectors(raw, height, width, blocks, disp, partner, cells):
    """Parses ``AV_FRAME_DATA_MOTION_VECTORS`` side data (``bytes(side_data)`` as uint8) and pairs the
    two directions of each bi-predicted block.

    Args:
        raw: uint8 ``(40 n,)``.
        height, width: frame size.
        blocks: int32 ``(N >= n, 5)`` output: ``source, w, h, dst_x, dst_y``.
        disp: float32 ``(N, 2)`` output: ``motion / motion_scale`` (``src - dst``, pixels).
        partner: int32 ``(N,)`` output: the vector of the same block (centre and size) in the other
            direction, or -1.
        cells: int32 ``(>= (height // 4 + 16) * (width // 4 + 16),)`` scratch, all zero (left zero).

    Returns:
        n, or -1 when a vector has ``motion_scale`` 0 (malformed side data).
    """
    n = raw.size // AVMOTIONVECTOR_SIZE
    words = raw[: n * AVMOTIONVECTOR_SIZE].view(np.int32)
    halves = raw[: n * AVMOTIONVECTOR_SIZE].view(np.int16)
    for i in range(n):
        w32, w16, b = i * 10, i * 20, i * AVMOTIONVECTOR_SIZE
        scale = np.int32(raw[b + 32]) | (np.int32(raw[b + 33]) << 8)
        if scale == 0:
            return -1
        blocks[i, 0] = words[w32]
        blocks[i, 1] = raw[b + 4]
        blocks[i, 2] = raw[b + 5]
        blocks[i, 3] = halves[w16 + 5]
        blocks[i, 4] = halves[w16 + 6]
        disp[i, 0] = np.float32(words[w32 + 6] / scale)
        disp[i, 1] = np.float32(words[w32 + 7] / scale)
        partner[i] = -1
    # Pair directions: cells[] holds 1 + the first vector seen at a block centre (4-px units).
    row = width // 4 + 16
    rows = height // 4 + 16
    for i in range(n):
        cx, cy = blocks[i, 3] // 4 + 8, blocks[i, 4] // 4 + 8
        if cx < 0 or cy < 0 or cx >= row or cy >= rows:
            continue
        key = cy * row + cx
        j = cells[key] - 1
        if j < 0:
            cells[key] = i + 1
        elif (partner[j] < 0 and (blocks[j, 0] > 0) != (blocks[i, 0] > 0) and blocks[j, 1] == blocks[i, 1]
              and blocks[j, 2] == blocks[i, 2] and blocks[j, 3] == blocks[i, 3] and blocks[j, 4] == blocks[i, 4]):
            partner[i], partner[j] = j, i
    for i in range(n):
        cx, cy = blocks[i, 3] // 4 + 8, blocks[i, 4] // 4 + 8
        if 0 <= cx < row and 0 <= cy < rows:
            cells[cy * row + cx] = 0
    return n


@njit(cache=True, nogil=True)
def unit_distances(blocks, n, distance):
    """Every vector spans one frame: ``distance = -1`` (past) or ``+1`` (future)."""
    for i in range(n):
        distance[i] = 1 if blocks[i, 0] > 0 else -1


@njit(cache=True, nogil=True)
def frame_field(blocks, disp, n, distance, grid, height, width, sums, field):
    """Per-frame motion of a frame's vectors, rasterised onto a grid.

    Each vector's motion is ``d / distance`` (``-d / k`` past, ``+d / k`` future; none where the
    distance is 0: unknown, or the unused direction of a B-block). Each block is cut into units of
    ``min(w, grid) × min(h, grid)`` px; a unit adds its value, weighted by its area, to the cell
    holding its centre (bi-predicted blocks average their two directions).

    Args:
        blocks, disp, n: from :func:`read_vectors`.
        distance: int32 ``(N,)`` signed reference distances
            (:func:`mgm_hf.video.reference_search.frame_distances` or :func:`unit_distances`).
        grid: cell size in pixels.
        height, width: frame size.
        sums: float32 ``(gh, gw, 3)`` work array, all zero (left zero).
        field: float32 ``(gh, gw, 2)`` output, ``gh = ceil(height / grid)``; NaN where no vector landed.
    """
    gh, gw = field.shape[0], field.shape[1]
    shift = -1  # cells of 2^shift px: shifts instead of divisions
    if grid & (grid - 1) == 0:
        shift = 0
        while (1 << shift) < grid:
            shift += 1
    for i in range(n):
        k = distance[i]
        if k == 0:
            continue
        vx = disp[i, 0] / np.float32(k)
        vy = disp[i, 1] / np.float32(k)
        w, h = blocks[i, 1], blocks[i, 2]
        left, top = blocks[i, 3] - (w >> 1), blocks[i, 4] - (h >> 1)
        unit_w, unit_h = min(w, grid), min(h, grid)
        area = np.float32(unit_w * unit_h)
        ax, ay = area * vx, area * vy
        for uy in range(h // unit_h):
            cy = top + uy * unit_h + (unit_h >> 1)
            if cy < 0 or cy >= height:
                continue
            row = cy >> shift if shift >= 0 else cy // grid
            for ux in range(w // unit_w):
                cx = left + ux * unit_w + (unit_w >> 1)
                if cx < 0 or cx >= width:
                    continue
                col = cx >> shift if shift >= 0 else cx // grid
                sums[row, col, 0] += area
                sums[row, col, 1] += ax
                sums[row, col, 2] += ay
    for y in range(gh):
        for x in range(gw):
            weight = sums[y, x, 0]
            if weight > 0:
                inverse = np.float32(1.0) / weight
                field[y, x, 0] = sums[y, x, 1] * inverse
                field[y, x, 1] = sums[y, x, 2] * inverse
                sums[y, x, 0] = 0.0
                sums[y, x, 1] = 0.0
                sums[y, x, 2] = 0.0
            else:
                field[y, x, 0] = np.nan
                field[y, x, 1] = np.nan


@njit(cache=True, nogil=True)
def fill_gaps(fields):
    """Fills NaN cells (I-frames, intra blocks) in place from the nearest frames before and after that
    have a value there (the average of the two, or the one that exists); cells with no value in any
    frame become 0.

    Args:
        fields: float32 ``(F, h, w, 2)``, consecutive per-frame fields.
    """
    frames, gh, gw = fields.shape[0], fields.shape[1], fields.shape[2]
    for y in range(gh):
        for x in range(gw):
            missing = False
            for f in range(frames):
                if np.isnan(fields[f, y, x, 0]):
                    missing = True
                    break
            if not missing:
                continue
            known = np.empty(frames, np.bool_)
            for f in range(frames):
                known[f] = not np.isnan(fields[f, y, x, 0])
            before = -1
            for f in range(frames):
                if known[f]:
                    before = f
                    continue
                after = f + 1
                while after < frames and not known[after]:
                    after += 1
                for c in range(2):
                    total, count = np.float32(0.0), 0
                    if before >= 0:
                        total += fields[before, y, x, c]
                        count += 1
                    if after < frames:
                        total += fields[after, y, x, c]
                        count += 1
                    fields[f, y, x, c] = total / np.float32(count) if count else np.float32(0.0)


@njit(cache=True, nogil=True)
def chain_fields(steps, starts, ends, cell, out):
    """Chains per-frame fields into the motion between sampled frames, following the content.

    For chain t the content at each cell of frame ``ends[t]`` is followed back one frame at a time to
    frame ``starts[t]``, summing the motion at the nearest cell where the content was (a coarse grid
    holds one value per block: blending across a moving object's edge would mix in the background).

    Args:
        steps: ``(N, h, w, 2)`` float (any): ``steps[j]`` is the motion of frame j since frame j - 1.
        starts, ends: int64 ``(T,)``.
        cell: grid cell size in pixels.
        out: float32 ``(T, h, w, 2)`` output; zero where ``starts[t] >= ends[t]``.
    """
    gh, gw = steps.shape[1], steps.shape[2]
    size = np.float32(cell)
    for t in range(ends.size):
        a, b = starts[t], ends[t]
        for y in range(gh):
            for x in range(gw):
                if a >= b:
                    out[t, y, x, 0] = 0.0
                    out[t, y, x, 1] = 0.0
                    continue
                tx = np.float32(steps[b, y, x, 0])
                ty = np.float32(steps[b, y, x, 1])
                for j in range(b - 1, a, -1):
                    sx = min(max(np.rint(np.float32(x) - tx / size), 0), gw - 1)
                    sy = min(max(np.rint(np.float32(y) - ty / size), 0), gh - 1)
                    tx += np.float32(steps[j, int(sy), int(sx), 0])
                    ty += np.float32(steps[j, int(sy), int(sx), 1])
                out[t, y, x, 0] = tx
                out[t, y, x, 1] = ty
