"""Small operations on motion fields (one convention: ``motion[t]`` = how far the content moved since
frame t-1), shared by vectors and flow; the ones on coarse grids run compiled (:mod:`.vector_kernels`).

A field is float32 ``(h, w, 2)`` of ``(dx, dy)`` in full-resolution pixels, sampled on a grid of
``cell`` pixels: value ``[i, j]`` belongs to the pixel ``((j + 0.5) * cell, (i + 0.5) * cell)``
(``cell = 1`` for dense optical flow, ``8`` for an 8-px motion-vector grid).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import vector_kernels

__all__ = [
    "compose_chains",
    "compose_steps",
    "fill_missing",
    "invert_field",
    "motion_between_frames",
    "sample_bilinear",
    "sample_nearest",
]


def sample_bilinear(field: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear lookup of ``field (h, w, C)`` at fractional grid coordinates ``x, y`` (same shape S),
    clamped at the borders. Returns ``(*S, C)``."""
    h, w = field.shape[:2]
    x = np.clip(x, 0.0, w - 1.0)
    y = np.clip(y, 0.0, h - 1.0)
    x0 = np.minimum(np.floor(x).astype(np.int64), w - 2) if w > 1 else np.zeros(x.shape, np.int64)
    y0 = np.minimum(np.floor(y).astype(np.int64), h - 2) if h > 1 else np.zeros(y.shape, np.int64)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    fx = (x - x0)[..., None]
    fy = (y - y0)[..., None]
    top = field[y0, x0] * (1 - fx) + field[y0, x1] * fx
    bottom = field[y1, x0] * (1 - fx) + field[y1, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(field.dtype, copy=False)


def sample_nearest(field: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Nearest-cell lookup of ``field (h, w, C)`` at fractional grid coordinates (clamped)."""
    h, w = field.shape[:2]
    xi = np.clip(np.rint(x), 0, w - 1).astype(np.int64)
    yi = np.clip(np.rint(y), 0, h - 1).astype(np.int64)
    return field[yi, xi]


def compose_steps(steps: Sequence[np.ndarray], cell: float) -> np.ndarray:
    """Chains per-frame motion into the motion over several frames.

    Args:
        steps: fields ``(h, w, 2)`` of consecutive frames ``a+1, ..., b`` (oldest first); each is the
            motion since the frame before it, at its own pixels.
        cell: grid cell size in pixels.

    Returns:
        float32 ``(h, w, 2)``: how far the content at each pixel of frame ``b`` moved since frame
        ``a``. The content is followed backwards through the frames (not just summed in place), so a
        block moving faster than its own size still accumulates its own motion.
    """
    if len(steps) == 0:
        raise ValueError("compose_steps needs at least one step.")
    total = np.array(steps[-1], dtype=np.float32, copy=True)
    h, w = total.shape[:2]
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    for step in reversed(steps[:-1]):
        # Where the content of frame b was one frame earlier, in grid coordinates.
        x = gx - total[..., 0] / cell
        y = gy - total[..., 1] / cell
        # Coarse grids (motion vectors) hold one value per block: blending across a moving object's
        # edge would mix in the background, so they are sampled at the nearest cell.
        sample = sample_nearest if cell > 1 else sample_bilinear
        total += sample(np.asarray(step, np.float32), x, y)
    return total


def compose_chains(steps: np.ndarray, starts: np.ndarray, ends: np.ndarray, cell: float) -> np.ndarray:
    """:func:`compose_steps` for many chains at once (all sampled frames of a clip), vectorised over
    the chains of equal length.

    Args:
        steps: per-frame fields ``(N, h, w, 2)`` (any float dtype): ``steps[j]`` is the motion of
            frame j since frame j - 1.
        starts, ends: int ``(T,)``: chain t runs from frame ``starts[t]`` to ``ends[t]``, i.e.
            composes ``steps[starts[t] + 1 : ends[t] + 1]``.
        cell: grid cell size in pixels.

    Returns:
        float32 ``(T, h, w, 2)``; zero where ``starts[t] >= ends[t]``.
    """
    starts = np.asarray(starts, np.int64)
    ends = np.asarray(ends, np.int64)
    h, w = steps.shape[1:3]
    out = np.zeros((len(ends), h, w, 2), np.float32)
    lengths = ends - starts
    if cell <= 1:  # dense flow: bilinear, chain by chain
        for t in np.flatnonzero(lengths > 0):
            out[t] = compose_steps(steps[starts[t] + 1 : ends[t] + 1], cell)
        return out
    used = lengths > 0
    if not used.any():
        return out
    # Coarse grids (motion vectors): compiled, on the frames the chains use (float32, e.g. from a
    # float16 cache); nearest-cell sampling as in compose_steps.
    lo, hi = int(starts[used].min()) + 1, int(ends[used].max())
    window = np.ascontiguousarray(steps[lo : hi + 1], np.float32)
    vector_kernels.chain_fields(window, np.where(used, starts - lo, 0), np.where(used, ends - lo, 0), float(cell),
                                out)
    return out


def invert_field(field: np.ndarray, cell: float, iterations: int = 3) -> np.ndarray:
    """The motion back in time: from the motion of a later frame a since an earlier frame b (at a's
    pixels), the motion of frame b since frame a (at b's pixels).

    The content at p of frame b is at ``p - u(p)`` in frame a, so ``u(p) = -field(p - u(p))``: solved
    by fixed-point iteration from ``u = -field(p)``, sampling like :func:`compose_steps` (nearest cell
    on coarse grids, bilinear for dense flow). Exact for a uniform translation (one iteration), and
    for the content seen in both frames when an object moves less than its own extent. Approximate
    where the two frames show different content: next to an object's edge that moved, where the
    same point of frame b is claimed by the object and by the background it uncovered (a strip as
    wide as the displacement can keep the background's motion there).

    Args:
        field: float ``(h, w, 2)``, the motion of frame a since frame b, at a's grid cells.
        cell: grid cell size in pixels.
        iterations: fixed-point refinements after the start.

    Returns:
        float32 ``(h, w, 2)``: the motion of frame b since frame a, at b's grid cells.
    """
    field = np.asarray(field, np.float32)
    h, w = field.shape[:2]
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    sample = sample_nearest if cell > 1 else sample_bilinear
    inverse = -field
    for _ in range(iterations):
        inverse = -sample(field, gx - inverse[..., 0] / cell, gy - inverse[..., 1] / cell)
    return inverse


def motion_between_frames(steps: np.ndarray, starts: np.ndarray, ends: np.ndarray, cell: float) -> np.ndarray:
    """:func:`compose_chains` in both directions of time (clips that loop back in a short video).

    Args:
        steps: per-frame fields ``(N, h, w, 2)``: ``steps[j]`` is the motion of frame j since frame
            j - 1.
        starts, ends: int ``(T,)``: row t is the motion of frame ``ends[t]`` since frame
            ``starts[t]``, at the pixels of ``ends[t]``.
        cell: grid cell size in pixels.

    Returns:
        float32 ``(T, h, w, 2)``: the forward chain where ``starts[t] < ends[t]``; zero where they are
        equal; for a jump back (``starts[t] > ends[t]``) the forward chain from ``ends[t]`` to
        ``starts[t]`` turned around by :func:`invert_field` (see there for what is exact).
    """
    starts = np.asarray(starts, np.int64)
    ends = np.asarray(ends, np.int64)
    out = compose_chains(steps, starts, ends, cell)
    back = np.flatnonzero(starts > ends)
    if back.size:
        forward = compose_chains(steps, ends[back], starts[back], cell)
        for row, field in zip(back, forward):
            out[row] = invert_field(field, cell)
    return out


def fill_missing(fields: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """Fills NaN cells (I-frames, intra blocks) from the nearest frames before and after that have a
    value there (average of the two, or the one that exists); cells with no value anywhere become 0
    (:func:`mgm_hf.video.vector_kernels.fill_gaps` on the fields in key order).

    Args:
        fields: frame index -> ``(h, w, 2)`` with NaN where unknown.

    Returns:
        a new dict of float32 fields with no NaN.
    """
    keys = sorted(fields)
    if not keys:
        return {}
    stack = np.ascontiguousarray(np.stack([fields[k] for k in keys]), np.float32)
    vector_kernels.fill_gaps(stack)
    return dict(zip(keys, stack))
