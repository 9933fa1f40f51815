"""Per-frame motion from the decoder's motion vectors (H.264, MPEG-4, MPEG-2).

:class:`MotionVectorTracker` takes decoded frames in presentation order and, for each wanted frame,
in one pass while its planes are hot (compiled kernels, a few microseconds per frame):

1. reads the raw ``MOTION_VECTORS`` side data (``bytes(side_data)``, no structured-array copy) and
   pairs the two directions of bi-predicted blocks (:func:`.vector_kernels.read_vectors`);
2. finds each vector's reference distance from the decoded luma of the candidate frames
   (:mod:`.reference_search`), reading the planes the decoder wrote: the frames are held, not
   copied, while they may serve as references. Streams whose SPS allows one reference frame and no
   reordering skip this (:func:`.h264_sps.exact_motion_stream`);
3. turns vectors into per-frame motion (``-d / k`` for a past reference k frames back, ``+d / k``
   for a future one), drops the stale direction of B-blocks and rasterises onto the grid
   (:func:`.vector_kernels.frame_field`).

Cells without a vector (I-frames, intra blocks) are filled from neighbouring frames
(:func:`.vector_kernels.fill_gaps`) when the fields are read.

Decode with ``thread_type`` SLICE or NONE: frame threading corrupts exported vectors (with FRAME or
AUTO, B-frame vectors change from run to run).

Fork safety (DataLoader "fork" workers): no reference to a decoded frame outlives the tracker's use
of it (held frames are released as soon as no pending frame can need them, and all of them by
:meth:`MotionVectorTracker.finish`), frames' ``side_data`` property (a reference cycle that keeps
the decoder and its threads alive until the cyclic GC: a forked child deadlocked freeing them) is
never touched, and nothing here calls OpenCV.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

import av
import numpy as np

from . import reference_search, vector_kernels
from .decode_order import DecodeOrder
from .h264_sps import exact_motion_stream

__all__ = [
    "VECTOR_CODECS",
    "MalformedVectors",
    "MotionVectorTracker",
    "frame_vectors",
    "stream_needs_search",
    "vector_bytes",
    "warm_up",
]

#: Codecs whose FFmpeg decoders export motion vectors (not hevc, vp8, vp9, av1).
VECTOR_CODECS = frozenset({"h264", "mpeg4", "mpeg2video"})

_PICT_B = 3  # AVPictureType: 1 = I, 2 = P, 3 = B

try:  # a container that the frame does not cache (see the module docstring)
    from av.sidedata.sidedata import SideDataContainer as _SideDataContainer

    def _side_data(frame: av.VideoFrame) -> Mapping:
        return _SideDataContainer(frame)

except ImportError:  # pragma: no cover - other PyAV layouts: the cached property (GC-dependent)

    def _side_data(frame: av.VideoFrame) -> Mapping:
        return frame.side_data


class MalformedVectors(ValueError):
    """The decoder exported motion-vector side data that cannot be read (a bad file, not a bug)."""


def vector_bytes(frame: av.VideoFrame) -> bytes | None:
    """The frame's raw motion-vector side data (``AVMotionVector`` records, 40 bytes each), or None
    when it has none. Copied out: no reference to the frame survives the call."""
    side = _side_data(frame).get("MOTION_VECTORS")
    if side is None:
        return None
    raw = bytes(side)
    return raw or None


def frame_vectors(frame: av.VideoFrame) -> np.ndarray | None:
    """The frame's motion vectors as a numpy structured array (fields ``source, w, h, src_x, src_y,
    dst_x, dst_y, flags, motion_x, motion_y, motion_scale``), or None (no side data). Copied out."""
    side = _side_data(frame).get("MOTION_VECTORS")
    if side is None:
        return None
    vectors = side.to_ndarray().copy()  # a view would keep the side data, hence the frame, alive
    return vectors if len(vectors) else None


def stream_needs_search(stream: av.video.stream.VideoStream) -> bool:
    """False when every vector of the stream spans exactly one frame (H.264 with one reference frame
    and no reordering, e.g. ``mgm-hf prepare --exact_motion``), else True."""
    ctx = stream.codec_context
    return not exact_motion_stream(str(ctx.name), ctx.extradata)


class MotionVectorTracker:
    """Turns decoded frames (fed in presentation order) into per-frame motion fields.

    Feed every decoded frame with :meth:`push`; fields are computed for the frames in ``wanted``.
    A B-frame waits until its future references are decoded (the next non-B frame, at most
    ``max_distance`` frames ahead). :meth:`fields` / :meth:`field_stack` return the finished
    fields with gaps (I-frames, intra blocks) filled from neighbouring frames.

    Args:
        frame_size: ``(H, W)``.
        wanted: frame indices whose per-frame motion is needed.
        grid: cell size of the output fields in pixels.
        max_distance: farthest reference frame considered.
        search: False trusts every vector to span one frame (no pixel search, no frames held): right
            only for streams encoded with one reference frame and no B-frames (see
            :func:`stream_needs_search`); default x264 output is not like that.
        decode_order: the stream's :class:`~mgm_hf.video.decode_order.DecodeOrder`, fed with every
            packet (:meth:`note_packet`): only frames decoded before a frame and marked as
            references are then its candidates. None: every held frame is a candidate.
    """

    def __init__(
        self,
        frame_size: tuple[int, int],
        wanted: Iterable[int],
        grid: int = 8,
        max_distance: int = 4,
        search: bool = True,
        decode_order: DecodeOrder | None = None,
    ) -> None:
        if grid < 1 or max_distance < 1:
            raise ValueError(f"grid and max_distance must be >= 1, got {grid}, {max_distance}.")
        self.frame_size = (int(frame_size[0]), int(frame_size[1]))
        self.wanted = frozenset(int(i) for i in wanted)
        self.grid = int(grid)
        self.max_distance = int(max_distance)
        self.search = bool(search)
        self.found_vectors = False
        height, width = self.frame_size
        order = sorted(self.wanted)
        self._row = {index: row for row, index in enumerate(order)}
        self._stack = np.full((len(order), -(-height // grid), -(-width // grid), 2), np.nan, np.float32)
        self._written = np.zeros(len(order), bool)
        self._first_held = (order[0] if order else 0) - (self.max_distance if self.search else 0)
        # Frames that may still serve as references (held: their planes are read in place), and their
        # facts in a ring the search kernel reads (slot = index % ring; valid when its index matches).
        # Held frames span at most 2 max_distance + 1 indices (see _process), so no live slot is reused.
        # Rows: frame index (-1: empty), luma address, line size, picture type, decoding rank, reference
        # flag (see reference_search.reference_window).
        self._ring = np.full((6, 2 * self.max_distance + 2), -1, np.int64)
        self._held: deque[tuple[int, av.VideoFrame]] = deque()
        self._order = decode_order if self.search else None
        self._types: dict[int, int] = {}
        self._pending: dict[int, np.ndarray] = {}  # index -> raw side data waiting for its references
        self._latest = -1
        self._finished = False
        self._scratch = _Scratch(self.frame_size, self.grid, self.max_distance)

    @property
    def idle(self) -> bool:
        """True when no frame waits for a future reference."""
        return not self._pending

    def note_packet(self, packet: av.Packet) -> None:
        """Feeds one demuxed packet (decoding order), before the frames it yields."""
        if self._order is not None:
            self._order.note(packet)

    def push(self, index: int, frame: av.VideoFrame) -> None:
        """Feeds one decoded frame (presentation order)."""
        if index < self._first_held:
            return
        self._latest = index
        if self.search:
            held = self._held
            if len(held) == self._ring.shape[1]:  # cannot happen (see _process): never overwrite silently
                raise RuntimeError(f"frame {held[0][0]} still held when frame {index} arrived")
            plane = frame.planes[0]
            rank, reference = self._order.pop(frame.pts) if self._order is not None else (-1, -1)
            kind = int(frame.pict_type)
            self._ring[:, index % self._ring.shape[1]] = (index, plane.buffer_ptr, plane.line_size, kind, rank,
                                                          reference)
            held.append((index, frame))
            self._types[index] = kind
        row = self._row.get(index)
        if row is not None:
            raw = vector_bytes(frame)
            if raw is None:
                self._written[row] = True  # no vectors (I-frame): all NaN, filled later
            else:
                self.found_vectors = True
                self._pending[index] = np.frombuffer(raw, np.uint8)
        self._process(final=False)

    def finish(self) -> None:
        """Processes frames still waiting (end of stream: whatever references exist) and releases
        every held frame."""
        if not self._finished:
            self._process(final=True)
            self._held.clear()
            self._ring[0] = -1
            self._finished = True

    def field_stack(self) -> tuple[list[int], np.ndarray]:
        """The decoded wanted frames' indices (sorted) and their fields float32 ``(F, h, w, 2)``
        (per-frame motion since the frame before, gaps filled)."""
        self.finish()
        order = sorted(self._row)
        if self._written.all():
            stack = self._stack
        else:  # frames never decoded (the stream ended) have no field
            order = [i for i in order if self._written[self._row[i]]]
            stack = np.ascontiguousarray(self._stack[self._written])
        if len(stack):
            vector_kernels.fill_gaps(stack)
        return order, stack

    def fields(self) -> dict[int, np.ndarray]:
        """Frame index -> float32 ``(h, w, 2)`` per-frame motion, gaps filled."""
        order, stack = self.field_stack()
        return dict(zip(order, stack))

    # ---------------------------------------------------------------------------------- internal
    def _ready(self, index: int, final: bool) -> int | None:
        """The last frame index that may serve as a reference of pending frame ``index`` once it can
        be processed (its future references are decoded), else None."""
        if not self.search:
            return index
        horizon = index + self.max_distance
        if final or self._types.get(index) != _PICT_B:
            return min(horizon, self._latest)
        for j in range(index + 1, min(horizon, self._latest) + 1):
            if self._types.get(j, _PICT_B) != _PICT_B:
                return j  # the next anchor: a B-frame's farthest future reference
        return horizon if self._latest >= horizon else None

    def _process(self, final: bool) -> None:
        """Computes the pending frames whose references are all decoded; releases the held frames no
        pending or later frame can use (older than the oldest pending frame, or the next frame,
        minus max_distance)."""
        pending = self._pending
        if pending:
            for index in sorted(pending):
                horizon = self._ready(index, final)
                if horizon is None:
                    break  # later frames wait for the same anchor
                self._compute(index, pending.pop(index), horizon)
        held = self._held
        if held:
            keep = (min(pending) if pending else self._latest + 1) - self.max_distance
            while held and held[0][0] < keep:
                held.popleft()

    def _compute(self, index: int, raw: np.ndarray, horizon: int) -> None:
        height, width = self.frame_size
        s = self._scratch.fit(raw.size // vector_kernels.AVMOTIONVECTOR_SIZE)
        n = vector_kernels.read_vectors(raw, height, width, s.blocks, s.disp, s.partner, s.cells)
        if n < 0:
            raise MalformedVectors(f"malformed motion vectors in frame {index} (motion_scale 0)")
        row = self._row[index]
        if self.search:
            ring = self._ring
            reference_search.reference_window(
                ring[0], ring[1], ring[2], ring[3], ring[4], ring[5], index, horizon, self.max_distance, s.addresses,
                s.line_sizes,
            )
            reference_search.frame_distances(
                s.blocks, s.disp, s.partner, n, s.addresses, s.line_sizes, self.max_distance, height, width,
                s.distance, s.sad, s.table, s.work, s.units,
            )
        else:
            vector_kernels.unit_distances(s.blocks, n, s.distance)
        vector_kernels.frame_field(s.blocks, s.disp, n, s.distance, self.grid, height, width, s.sums, self._stack[row])
        self._written[row] = True


class _Scratch:
    """Per-tracker work arrays for the kernels, grown to the largest frame's vector count."""

    def __init__(self, frame_size: tuple[int, int], grid: int, max_distance: int) -> None:
        height, width = frame_size
        self.max_distance = max_distance
        self.cells = np.zeros((height // 4 + 16) * (width // 4 + 16), np.int32)
        self.units = np.zeros((2, *reference_search.unit_map_shape(height, width)), np.int32)
        self.sums = np.zeros((-(-height // grid), -(-width // grid), 3), np.float32)
        self.addresses = np.zeros(2 * max_distance + 1, np.int64)
        self.line_sizes = np.zeros(2 * max_distance + 1, np.int64)
        self.capacity = 0
        self.fit(256)

    def fit(self, n: int) -> _Scratch:
        if n > self.capacity:
            size = max(n, 2 * self.capacity)
            self.blocks = np.zeros((size, 5), np.int32)
            self.disp = np.zeros((size, 2), np.float32)
            self.partner = np.zeros(size, np.int32)
            self.distance = np.zeros(size, np.int32)
            self.sad = np.zeros(size, np.float32)
            self.table = np.zeros((size, self.max_distance), np.float32)
            self.work = np.zeros((size, 4), np.int32)
            self.capacity = size
        return self


def warm_up() -> None:
    """Compiles (or loads from numba's on-disk cache) every kernel by running it once on a tiny
    frame. Runs at import, so that DataLoader workers forked later inherit the compiled code."""
    raw = np.zeros(2 * vector_kernels.AVMOTIONVECTOR_SIZE, np.uint8)
    record = raw.view(np.int32)
    record[0], record[10] = -1, 1  # source: one past, one future vector
    raw[4:6] = raw[44:46] = 16  # w, h
    raw.view(np.int16)[5:7] = raw.view(np.int16)[25:27] = 8  # dst_x, dst_y
    record[6], record[16] = 4, -4  # motion_x
    raw[32] = raw[72] = 4  # motion_scale
    planes = np.zeros((3, 16, 16), np.uint8)
    tracker = MotionVectorTracker((16, 16), [1], grid=8, max_distance=1)
    s = tracker._scratch
    raw = np.frombuffer(raw.tobytes(), np.uint8)  # read-only, like side data in push()
    n = vector_kernels.read_vectors(raw, 16, 16, s.blocks, s.disp, s.partner, s.cells)
    addresses = np.array([p.ctypes.data for p in planes], np.int64)
    lines = np.full(3, 16, np.int64)
    unknown = np.full(3, -1, np.int64)
    reference_search.reference_window(np.arange(3, dtype=np.int64), addresses, lines, np.full(3, 2, np.int64),
                                      unknown, unknown, 1, 2, 1, s.addresses, s.line_sizes)
    reference_search.frame_distances(s.blocks, s.disp, s.partner, n, s.addresses, s.line_sizes, 1, 16, 16,
                                     s.distance, s.sad, s.table, s.work, s.units)
    vector_kernels.unit_distances(s.blocks, n, s.distance)
    vector_kernels.frame_field(s.blocks, s.disp, n, s.distance, 8, 16, 16, s.sums, tracker._stack[0])
    vector_kernels.fill_gaps(tracker._stack)
    vector_kernels.chain_fields(tracker._stack, np.zeros(1, np.int64), np.ones(1, np.int64), 8.0,
                                np.empty((1, 2, 2, 2), np.float32))


warm_up()
