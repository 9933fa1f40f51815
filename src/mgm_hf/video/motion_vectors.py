"""Per-frame motion from the decoder's motion vectors (H.264, MPEG-4, MPEG-2).

:class:`MotionVectorTracker` takes decoded frames in presentation order and, for each wanted frame,
in one compiled call per decoded frame while its planes are hot (:func:`.frame_step.frame_step`):

1. reads the raw ``MOTION_VECTORS`` side data where the decoder wrote it (its address, no copy) and
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

Side data and planes are read in place: a frame is held while its own vectors wait (a B-frame
waits for its future references) and while it may serve as a reference.

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

from . import frame_step, reference_search, vector_kernels
from .decode_order import DecodeOrder
from .h264_sps import exact_motion_stream

__all__ = [
    "VECTOR_CODECS",
    "MalformedVectors",
    "MotionVectorTracker",
    "frame_vectors",
    "stream_needs_search",
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
    fields with gaps (I-frames, intra blocks) filled from neighbouring frames. The work for each
    frame is one compiled call (:func:`.frame_step.frame_step`).

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
        self._order_of_rows = order
        self._stack = np.full((len(order), -(-height // grid), -(-width // grid), 2), np.nan, np.float32)
        self._written = np.zeros(len(order), bool)
        self._first_held = (order[0] if order else 0) - (self.max_distance if self.search else 0)
        row_base = order[0] if order else 0
        self._rows = np.full((order[-1] - row_base + 1) if order else 0, -1, np.int64)
        for row, index in enumerate(order):
            self._rows[index - row_base] = row
        # Held frames (their planes and side data are read in place) span at most 2 max_distance + 1
        # indices (see frame_step.process_waiting), so no live ring slot is reused.
        self._ring, self._pending, self._state = frame_step.new_state(2 * self.max_distance + 2 if self.search else 1)
        self._held: deque[tuple[int, av.VideoFrame]] = deque()
        self._order = decode_order if self.search else None
        self._finished = False
        self._row_base = row_base
        self._capacity = 0
        self._fit(256)

    @property
    def idle(self) -> bool:
        """True when no frame waits for a future reference."""
        return not self._state[frame_step.WAITING]

    def note_packet(self, packet: av.Packet) -> None:
        """Feeds one demuxed packet (decoding order), before the frames it yields."""
        if self._order is not None:
            self._order.note(packet)

    def push(self, index: int, frame: av.VideoFrame) -> None:
        """Feeds one decoded frame (presentation order)."""
        if index < self._first_held:
            return
        vectors = count = 0
        if index in self.wanted:
            side = _side_data(frame).get("MOTION_VECTORS")
            if side is not None:
                count = side.buffer_size // vector_kernels.AVMOTIONVECTOR_SIZE
                if count:
                    vectors = side.buffer_ptr
                    self.found_vectors = True
                    if count > self._capacity:
                        self._fit(count)
        luma = line = 0
        rank = reference = -1
        if self.search:
            if len(self._held) == self._ring.shape[1]:  # cannot happen (see frame_step): never overwrite silently
                raise RuntimeError(f"frame {self._held[0][0]} still held when frame {index} arrived")
            plane = frame.planes[0]
            luma, line = plane.buffer_ptr, plane.line_size
            if self._order is not None:
                rank, reference = self._order.pop(frame.pts)
            self._held.append((index, frame))
        keep = frame_step.frame_step(*self._arrays, index, luma, line, int(frame.pict_type), rank, reference,
                                     vectors, count)
        self._release(keep)

    def finish(self) -> None:
        """Processes frames still waiting (end of stream: whatever references exist) and releases
        every held frame."""
        if not self._finished:
            keep = frame_step.process_waiting(*self._arrays, True)
            self._release(keep)
            self._held.clear()
            self._ring[frame_step.INDEX] = -1
            self._finished = True

    def field_stack(self) -> tuple[list[int], np.ndarray]:
        """The decoded wanted frames' indices (sorted) and their fields float32 ``(F, h, w, 2)``
        (per-frame motion since the frame before, gaps filled)."""
        self.finish()
        order = self._order_of_rows
        if self._written.all():
            stack = self._stack
        else:  # frames never decoded (the stream ended) have no field
            order = [i for row, i in enumerate(order) if self._written[row]]
            stack = np.ascontiguousarray(self._stack[self._written])
        if len(stack):
            vector_kernels.fill_gaps(stack)
        return order, stack

    def fields(self) -> dict[int, np.ndarray]:
        """Frame index -> float32 ``(h, w, 2)`` per-frame motion, gaps filled."""
        order, stack = self.field_stack()
        return dict(zip(order, stack))

    # ---------------------------------------------------------------------------------- internal
    def _release(self, keep: int) -> None:
        """Releases the held frames before ``keep``; raises on a malformed frame."""
        malformed = self._state[frame_step.MALFORMED]
        if malformed:
            raise MalformedVectors(f"malformed motion vectors in frame {malformed - 1} (motion_scale 0)")
        held = self._held
        while held and held[0][0] < keep:
            held.popleft()

    def _fit(self, n: int) -> None:
        """(Re)allocates the kernels' work arrays for frames of up to ``n`` vectors."""
        height, width = self.frame_size
        d = self.max_distance
        if not self._capacity:
            self._cells = np.zeros((height // 4 + 16) * (width // 4 + 16), np.int32)
            self._units = np.zeros((2, *reference_search.unit_map_shape(height, width)), np.int32)
            self._sums = np.zeros((-(-height // self.grid), -(-width // self.grid), 3), np.float32)
            self._addresses = np.zeros(2 * d + 1, np.int64)
            self._line_sizes = np.zeros(2 * d + 1, np.int64)
        size = max(n, 2 * self._capacity)
        work = (np.zeros((size, 5), np.int32), np.zeros((size, 2), np.float32), np.zeros(size, np.int32),
                np.zeros(size, np.int32), np.zeros(size, np.float32), np.zeros((size, d), np.float32),
                np.zeros((size, 4), np.int32))
        self._capacity = size
        # frame_step's and process_waiting's leading arguments (the state and work arrays, the sizes)
        self._arrays = (self._ring, self._pending, self._state, self._rows, self._row_base,
                        self._stack, self._written, *work, self._units, self._cells, self._sums, self._addresses,
                        self._line_sizes, height, width, self.grid, d, self.search)


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
    for search in (True, False):
        tracker = MotionVectorTracker((16, 16), [1], grid=8, max_distance=1, search=search)
        for index in range(3):
            vectors, count = (raw.ctypes.data, 2) if index == 1 else (0, 0)
            frame_step.frame_step(*tracker._arrays, index, planes[index].ctypes.data, 16, 2, -1, -1, vectors, count)
        frame_step.process_waiting(*tracker._arrays, True)
        vector_kernels.fill_gaps(tracker._stack)
    vector_kernels.chain_fields(tracker._stack, np.zeros(1, np.int64), np.ones(1, np.int64), 8.0,
                                np.empty((1, 2, 2, 2), np.float32))


warm_up()
