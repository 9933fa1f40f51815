"""Errors raised by the video readers."""

from __future__ import annotations

from pathlib import Path


class VideoReadError(Exception):
    """A video could not be read: missing, empty, truncated, not a video, or no video stream.

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
