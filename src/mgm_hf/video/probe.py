"""Opening a video safely and reading its stream facts (frame count, rate, codec)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from .errors import VideoReadError

__all__ = ["VideoInfo", "open_video", "open_video_with_info", "probe_video"]


@dataclass(frozen=True)
class VideoInfo:
    """Facts about a video's first video stream.

    Attributes:
        path: the file.
        num_frames: number of frames (from the container, or by counting packets when it does not
            say, e.g. WebM).
        fps: average frame rate.
        width, height: frame size in pixels.
        codec: FFmpeg decoder name (``h264``, ``vp9``, ...).
        time_base: stream time base.
        start_pts: pts of the first frame (in ``time_base`` units).
    """

    path: str
    num_frames: int
    fps: float
    width: int
    height: int
    codec: str
    time_base: Fraction
    start_pts: int

    def index_of(self, pts: int) -> int:
        """Frame index of a presentation timestamp."""
        return round(float((pts - self.start_pts) * self.time_base) * self.fps)

    def pts_of(self, index: int) -> int:
        """Presentation timestamp of a frame index (inverse of :meth:`index_of`)."""
        return self.start_pts + int(index / self.fps / self.time_base)


def open_video(path: str | Path) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
    """Opens ``path`` and returns (container, first video stream); raises :class:`VideoReadError` for
    missing, empty, unreadable or streamless files and streams without a decoder. The caller closes
    the container."""
    path = str(path)
    if not os.path.exists(path):
        raise VideoReadError(path, "file not found")
    if os.path.isdir(path):
        raise VideoReadError(path, "is a directory, not a video file")
    if os.path.getsize(path) == 0:
        raise VideoReadError(path, "empty file (0 bytes)")
    try:
        # Tags in another encoding than UTF-8 (old muxers write Latin-1) are not a reason to reject
        # the video: undecodable bytes become U+FFFD (metadata is never used for decoding).
        container = av.open(path, mode="r", metadata_errors="replace")
    except av.FFmpegError as err:
        raise VideoReadError(
            path, f"cannot open as a video (truncated, corrupt or not a video): {err}"
        ) from err
    if not container.streams.video:
        container.close()
        raise VideoReadError(path, "no video stream in the file")
    stream = container.streams.video[0]
    if stream.codec_context is None:  # FFmpeg has no decoder for the stream's codec id
        container.close()
        raise VideoReadError(path, "no decoder for the video stream (unknown codec or corrupt header)")
    return container, stream


def open_video_with_info(
    path: str | Path,
) -> tuple[av.container.InputContainer, av.video.stream.VideoStream, VideoInfo]:
    """:func:`open_video` plus the stream's :class:`VideoInfo`, positioned at the start for decoding
    (reopened when counting the frames read the container through). The caller closes the container."""
    container, stream = open_video(path)
    try:
        info, consumed = _info(str(path), container, stream)
        if consumed:
            container.close()
            container, stream = open_video(path)
    except BaseException:
        container.close()
        raise
    return container, stream, info


def _count_packets(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> int:
    count = 0
    for packet in container.demux(stream):
        if packet.size > 0:
            count += 1
    return count


def _frames_from_duration(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, fps: float
) -> int | None:
    """Frame count implied by the declared duration (stream, else container), or None."""
    if stream.duration and stream.time_base:
        return round(float(stream.duration * stream.time_base) * fps)
    if container.duration:
        return round(container.duration / av.time_base * fps)
    return None


def probe_video(path: str | Path) -> VideoInfo:
    """Reads a video's :class:`VideoInfo` (no frame is decoded; packets are counted only when the
    container does not store the frame count)."""
    container, stream = open_video(path)
    try:
        return _info(str(path), container, stream)[0]
    finally:
        container.close()


def _info(
    path: str, container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> tuple[VideoInfo, bool]:
    """The stream's facts, and whether the container was read through (to count packets) and must be
    reopened before decoding."""
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate:
        raise VideoReadError(path, "the video stream has no frame rate")
    fps = float(rate)
    time_base = stream.time_base or Fraction(1, 1000)
    start_pts = stream.start_time if stream.start_time is not None else 0
    num_frames = int(stream.frames or 0)
    consumed = num_frames <= 0
    if consumed:
        try:
            num_frames = _count_packets(container, stream)
        except av.FFmpegError as err:
            raise VideoReadError(path, f"corrupt or truncated stream: {err}") from err
        expected = _frames_from_duration(container, stream, fps)
        if expected is not None and num_frames < 0.9 * expected - 1:
            raise VideoReadError(
                path,
                f"truncated: the container declares about {expected} frames at {fps:g} fps but only "
                f"{num_frames} are in the file",
            )
    if num_frames <= 0:
        raise VideoReadError(path, "the video stream has no frames")
    ctx = stream.codec_context
    info = VideoInfo(
        path=path,
        num_frames=num_frames,
        fps=fps,
        width=int(ctx.width),
        height=int(ctx.height),
        codec=str(ctx.name),
        time_base=Fraction(time_base),
        start_pts=int(start_pts),
    )
    return info, consumed
