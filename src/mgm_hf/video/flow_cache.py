"""Offline motion cache: per-frame motion of whole videos, computed once, stored as compressed
float16 ``.npz``, and chained into any sampling at read time.

Per-frame fields (motion of frame j since frame j-1) are stored rather than one sampling's motion, so
random starts, any stride and multi-view testing all reuse one entry: :func:`read_clip` composes the
fields between sampled frames. An entry is keyed by the file's absolute path, mtime and size and by
the motion settings (source, flow method, grid), so an edited video or other settings miss.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .decode_order import DecodeOrder
from .flow import get_flow_backend
from .motion_vectors import VECTOR_CODECS, MotionVectorTracker, stream_needs_search
from .probe import open_video_with_info
from .rgb import RGBConverter

__all__ = ["MotionCache", "video_motion_fields"]


def _pool(field: np.ndarray, grid: int) -> np.ndarray:
    """Average-pools a full-resolution ``(H, W, 2)`` field to ``(ceil(H/grid), ceil(W/grid), 2)``."""
    if grid == 1:
        return field
    h, w = field.shape[:2]
    gh, gw = -(-h // grid), -(-w // grid)
    padded = np.pad(field, ((0, gh * grid - h), (0, gw * grid - w), (0, 0)), mode="edge")
    return padded.reshape(gh, grid, gw, grid, 2).mean(axis=(1, 3)).astype(np.float32)


def video_motion_fields(
    path: str | Path, motion: str = "auto", flow_method: str = "dis", grid: int = 8, max_ref_distance: int = 8
) -> tuple[np.ndarray, str]:
    """Per-frame motion of every frame of a video.

    Returns:
        float32 ``(N, ceil(H/grid), ceil(W/grid), 2)`` (``[0] = 0``) and the source string
        (``"motion_vectors"`` or ``"optical_flow:<method>"``).
    """
    path = str(path)
    container, stream, info = open_video_with_info(path)
    try:
        use_vectors = motion == "motion_vectors" or (motion == "auto" and info.codec in VECTOR_CODECS)
        n = info.num_frames
        if use_vectors:
            stream.codec_context.options = {"flags2": "+export_mvs"}
            stream.thread_type = "SLICE"  # FRAME/AUTO threading changes B-frame vectors from run to run
            tracker = MotionVectorTracker((info.height, info.width), range(n), grid, max_ref_distance,
                                          search=stream_needs_search(stream),
                                          decode_order=DecodeOrder.for_stream(stream))
            index = 0
            for packet in container.demux(stream):  # as read_clip decodes: the packets tell the references
                tracker.note_packet(packet)
                for frame in packet.decode():
                    tracker.push(index, frame)
                    index += 1
            fields = tracker.fields()
            out = np.stack([fields.get(j, np.zeros_like(fields[0])) for j in range(n)])
            out[0] = 0.0
            return out, "motion_vectors"
        backend = get_flow_backend(flow_method)
        out_list: list[np.ndarray] = []
        prev = None
        to_rgb = RGBConverter()
        for frame in container.decode(stream):
            rgb = to_rgb(frame)
            full = np.zeros((*rgb.shape[:2], 2), np.float32) if prev is None else backend(prev, rgb)
            out_list.append(_pool(full, grid))
            prev = rgb
        return np.stack(out_list), f"optical_flow:{backend.name}"
    finally:
        container.close()


class MotionCache:
    """A folder of per-video motion entries.

    Args:
        root: cache folder (created on demand).
        motion: ``"auto"``, ``"motion_vectors"`` or ``"optical_flow"``.
        flow_method: flow backend for optical flow.
        grid: cell size in pixels of the stored fields.
    """

    def __init__(
        self, root: str | Path, motion: str = "auto", flow_method: str = "dis", grid: int = 8
    ) -> None:
        self.root = Path(root)
        self.motion = motion
        self.flow_method = flow_method
        self.grid = grid

    def key(self, path: str | Path) -> str:
        """Hex digest of the absolute path, mtime, size and the motion settings."""
        path = os.path.abspath(path)
        stat = os.stat(path)
        settings = {"motion": self.motion, "flow": self.flow_method, "grid": self.grid}
        raw = json.dumps([path, stat.st_mtime_ns, stat.st_size, settings], sort_keys=True)
        return hashlib.sha1(raw.encode()).hexdigest()

    def entry_path(self, path: str | Path) -> Path:
        key = self.key(path)
        return self.root / key[:2] / f"{key}.npz"

    def load(self, path: str | Path) -> tuple[np.ndarray, int, str] | None:
        """``(per_frame float16 (N, h, w, 2), grid, source)`` or None when not cached."""
        try:
            entry = self.entry_path(path)
        except OSError:
            return None
        if not entry.exists():
            return None
        with np.load(entry, allow_pickle=False) as data:
            return data["motion"], int(data["grid"]), str(data["source"])

    def save(self, path: str | Path, per_frame: np.ndarray, source: str) -> Path:
        """Stores per-frame fields ``(N, h, w, 2)`` as float16; written atomically."""
        entry = self.entry_path(path)
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_suffix(f".tmp{os.getpid()}.npz")
        np.savez_compressed(
            tmp, motion=per_frame.astype(np.float16), grid=np.int64(self.grid), source=np.str_(source)
        )
        os.replace(tmp, entry)
        return entry

    def precompute(self, paths: Iterable[str | Path], overwrite: bool = False) -> int:
        """Computes and stores entries for ``paths``; returns how many were computed."""
        done = 0
        for path in paths:
            if not overwrite and self.load(path) is not None:
                continue
            per_frame, source = video_motion_fields(path, self.motion, self.flow_method, self.grid)
            self.save(path, per_frame, source)
            done += 1
        return done
