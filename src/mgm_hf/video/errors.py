"""Errors raised by the video readers."""

from __future__ import annotations

from pathlib import Path


class VideoReadError(Exception):
    """A video could not be read: missing, empty, truncated, corrupt, not a video, no video stream,
    no decoder for its codec, or no motion vectors where they were asked for.

    The readers (:func:`~mgm_hf.video.read_clip`, :func:`~mgm_hf.video.read_views`,
    :func:`~mgm_hf.video.probe_video`) raise it for every failure of the file itself, PyAV/FFmpeg
    errors included, and nothing else: it is the only error :class:`~mgm_hf.data.VideoTransform`
    counts as a bad video and skips. Any other exception is a bug (or a wrong setting) and surfaces.

    Attributes:
        path: the file that failed, as a string.
        reason: a short human-readable reason (also part of ``str(error)``).
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # Keeps the two-argument constructor picklable across DataLoader worker processes.
        return (type(self), (self.path, self.reason))
