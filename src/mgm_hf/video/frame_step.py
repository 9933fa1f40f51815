"""The motion-vector tracker's work for one decoded frame, in one compiled call.

:class:`mgm_hf.video.motion_vectors.MotionVectorTracker` hands every decoded frame to
:func:`frame_step` with what PyAV tells about it without a copy: the address and record count of
its motion-vector side data, the address and line size of its luma plane, its picture type, and the
decoding facts of :class:`mgm_hf.video.decode_order.DecodeOrder`. The call records the frame in the
ring of held frames, then computes every waiting frame whose references are now decoded: it parses
the side data in place, finds the reference distances and rasterises (:mod:`.vector_kernels`,
:mod:`.reference_search`). That is one call per frame where there were a dozen Python steps and five
kernel dispatches: at 224² a frame decodes in about 0.15 ms, and those steps cost a tenth of that.

Side data and planes are read in place, so the caller keeps each frame alive while it may be read:
until it is computed (its own vectors), and until no waiting frame can use it as a reference (the
``keep`` index :func:`frame_step` returns).

State arrays (owned by the tracker, made by :func:`new_state`):

* ``ring`` int64 ``(RING_ROWS, R)``: slot ``j % R`` describes frame ``j`` (row ``INDEX``; -1: empty):
  luma address, line size, picture type (3 = B), decoding rank, reference flag (1 / 0; -1 unknown),
  side-data address and vector count;
* ``pending`` int64 ``(R,)``: the frames waiting for their future references, ascending;
* ``state`` int64 ``(STATE_SIZE,)``: how many wait, the latest frame pushed, the malformed frame + 1
  (0: none).
"""

from __future__ import annotations

import numpy as np
from numba import carray, njit

from .reference_search import _PICT_B, _uint8_pointer, frame_distances, reference_window
from .vector_kernels import AVMOTIONVECTOR_SIZE, frame_field, read_vectors, unit_distances

__all__ = ["MALFORMED", "RING_ROWS", "WAITING", "frame_step", "new_state", "process_waiting"]

INDEX, LUMA, LINE, TYPE, RANK, REFERENCE, VECTORS, COUNT = range(8)  # ring rows
RING_ROWS = 8
WAITING, LATEST, MALFORMED = range(3)  # state entries
STATE_SIZE = 3


def new_state(ring_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empty ``(ring, pending, state)`` for a ring of ``ring_size`` slots."""
    ring = np.full((RING_ROWS, ring_size), -1, np.int64)
    state = np.zeros(STATE_SIZE, np.int64)
    state[LATEST] = -1
    return ring, np.zeros(ring_size, np.int64), state


@njit(cache=True, nogil=True)
def _type_of(ring, j):
    """Picture type of frame ``j`` when the ring holds it, else B (a B-frame never ends a wait)."""
    slot = j % ring.shape[1]
    return ring[TYPE, slot] if ring[INDEX, slot] == j else _PICT_B


@njit(cache=True, nogil=True)
def _horizon(ring, index, latest, final, search, max_distance):
    """The last frame that may be a reference of waiting frame ``index`` once it can be computed (a
    B-frame waits for its next anchor, at most ``max_distance`` ahead), or -1 while it must wait."""
    if not search:
        return index
    horizon = index + max_distance
    if final or _type_of(ring, index) != _PICT_B:
        return min(horizon, latest)
    for j in range(index + 1, min(horizon, latest) + 1):
        if _type_of(ring, j) != _PICT_B:
            return j
    return horizon if latest >= horizon else -1


@njit(cache=True, nogil=True)
def process_waiting(ring, pending, state, rows, row_base, stack, written, blocks, disp, partner, distance, sad,
                    table, work, units, cells, sums, addresses, line_sizes, height, width, grid, max_distance,
                    search, final):
    """Computes the waiting frames whose references are all decoded (every one when ``final``), in
    order, into ``stack[rows[index - row_base]]``; returns ``keep``: held frames before it can no
    longer be read (older than the oldest frame still waiting, or the next frame, by more than
    ``max_distance``). Stops at a malformed frame (``state[MALFORMED]`` = its index + 1)."""
    size = ring.shape[1]
    done = 0
    for w in range(state[WAITING]):
        index = pending[w]
        horizon = _horizon(ring, index, state[LATEST], final, search, max_distance)
        if horizon < 0:
            break  # later frames wait for the same anchor
        slot = index % size
        count = ring[COUNT, slot]
        raw = carray(_uint8_pointer(ring[VECTORS, slot]), (count * AVMOTIONVECTOR_SIZE,))
        n = read_vectors(raw, height, width, blocks, disp, partner, cells)
        if n < 0:
            state[MALFORMED] = index + 1
            return -1
        if search:
            reference_window(ring[INDEX], ring[LUMA], ring[LINE], ring[TYPE], ring[RANK], ring[REFERENCE], index,
                             horizon, max_distance, addresses, line_sizes)
            frame_distances(blocks, disp, partner, n, addresses, line_sizes, max_distance, height, width,
                            distance, sad, table, work, units)
        else:
            unit_distances(blocks, n, distance)
        row = rows[index - row_base]
        frame_field(blocks, disp, n, distance, grid, height, width, sums, stack[row])
        written[row] = True
        ring[VECTORS, slot] = 0  # read: the frame need not be kept for its own vectors
        done += 1
    if done:
        left = state[WAITING] - done
        for w in range(left):
            pending[w] = pending[w + done]
        state[WAITING] = left
    oldest = pending[0] if state[WAITING] else state[LATEST] + 1
    return oldest - max_distance


@njit(cache=True, nogil=True)
def frame_step(ring, pending, state, rows, row_base, stack, written, blocks, disp, partner, distance, sad, table,
               work, units, cells, sums, addresses, line_sizes, height, width, grid, max_distance, search, index,
               luma, line, kind, rank, reference, vectors, count):
    """Records decoded frame ``index`` (presentation order) and computes the frames it lets go on
    (see :func:`process_waiting`, whose ``keep`` it returns).

    Args:
        ring, pending, state: see the module docstring.
        rows: int64 ``(span,)``: output row of frame ``row_base + i`` in ``stack``, -1 when its motion
            is not wanted.
        stack: float32 ``(F, gh, gw, 2)`` output fields (NaN where no vector landed); written: bool
            ``(F,)`` rows done.
        blocks, disp, partner, distance, sad, table, work, units, cells, sums, addresses, line_sizes:
            the kernels' work arrays, sized for ``count`` vectors at least.
        height, width, grid, max_distance, search: frame size, cell size, farthest reference, and
            whether distances are searched (else every vector spans one frame).
        index, luma, line, kind, rank, reference: the frame, its luma address and line size, picture
            type, decoding rank and reference flag (-1: unknown).
        vectors, count: address of its motion-vector side data and number of records (0, 0: none, or
            not wanted).
    """
    size = ring.shape[1]
    slot = index % size
    ring[INDEX, slot] = index
    ring[LUMA, slot] = luma
    ring[LINE, slot] = line
    ring[TYPE, slot] = kind
    ring[RANK, slot] = rank
    ring[REFERENCE, slot] = reference
    ring[VECTORS, slot] = vectors
    ring[COUNT, slot] = count
    state[LATEST] = index
    offset = index - row_base
    if 0 <= offset < rows.size and rows[offset] >= 0:
        if count > 0:
            pending[state[WAITING]] = index
            state[WAITING] += 1
        else:
            written[rows[offset]] = True  # no vectors (an I-frame): all NaN, filled from its neighbours
    return process_waiting(ring, pending, state, rows, row_base, stack, written, blocks, disp, partner, distance,
                           sad, table, work, units, cells, sums, addresses, line_sizes, height, width, grid,
                           max_distance, search, False)
