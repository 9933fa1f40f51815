"""Transcoding one video to H.264 with PyAV (libx264) and verifying the result.

Used by ``mgm-hf prepare`` (:mod:`mgm_hf.data.prepare`); each function handles one file so the
command can spread files over processes.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.video.frame import PictureType

from ..video.motion_vectors import frame_vectors

__all__ = ["EncodeSettings", "TranscodeResult", "count_frames", "transcode_file", "verify_h264"]


@dataclass(frozen=True)
class EncodeSettings:
    """libx264 settings.

    Attributes:
        gop_seconds: keyframe interval in seconds (``g = round(gop_seconds * fps)``).
        bframes: B-frames between references (``bf``); ignored with ``exact_motion``.
        exact_motion: one reference frame and no B-frames, so each frame's vectors point at the
            previous frame (exact per-frame motion, as CoViAR did with MPEG-4; FFmpeg exports a vector's
            direction, not its reference distance, which x264's defaults make 1, 2 or more frames).
        crf: x264 constant rate factor (quality; lower is better).
        preset: x264 speed preset.
        short_side: resize so the shorter side has this many pixels (None keeps the size).
        threads: x264 threads per file (0 = x264's choice).
        frame_tolerance: allowed difference between input and output frame counts, as
            ``max(frame_tolerance, 1 % of the frames)``.
    """

    gop_seconds: float = 2.0
    bframes: int = 2
    exact_motion: bool = False
    crf: int = 23
    preset: str = "veryfast"
    short_side: int | None = None
    threads: int = 0
    frame_tolerance: int = 2

    def x264_options(self, fps: float) -> dict[str, str]:
        gop = max(1, round(self.gop_seconds * fps))
        options = {"g": str(gop), "crf": str(self.crf), "preset": self.preset, "threads": str(self.threads)}
        if self.exact_motion:
            options.update({"bf": "0", "refs": "1"})
        else:
            options["bf"] = str(self.bframes)
        return options


@dataclass(frozen=True)
class TranscodeResult:
    """What happened to one file: ``status`` is ``encoded``, ``skipped`` (a valid output existed) or
    ``failed``; ``message`` says why for ``failed`` (and for re-encoded invalid outputs)."""

    source: str
    output: str
    status: str
    message: str = ""
    frames: int = 0


def count_frames(path: str | Path) -> int:
    """Frames of the first video stream, from the demuxed packets (no decoding; works for WebM,
    which stores no frame count)."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size > 0)


def verify_h264(path: str | Path, expected_frames: int, tolerance: int = 2) -> tuple[bool, str, int]:
    """Decodes ``path`` fully with motion-vector export and checks codec, frame count (within
    ``max(tolerance, 1 %)`` of ``expected_frames``) and that motion vectors exist.

    Returns ``(ok, reason, frames)``.
    """
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return False, "no video stream", 0
            stream = container.streams.video[0]
            if stream.codec_context.name != "h264":
                return False, f"codec is {stream.codec_context.name}, not h264", 0
            stream.codec_context.options = {"flags2": "+export_mvs"}
            stream.thread_type = "SLICE"
            frames, with_vectors = 0, 0
            for frame in container.decode(stream):
                frames += 1
                if frame_vectors(frame) is not None:  # no frame.side_data: it leaks the decoder
                    with_vectors += 1
    except (av.error.FFmpegError, OSError, ValueError) as error:
        return False, f"does not decode: {type(error).__name__}: {error}", 0
    allowed = max(tolerance, round(0.01 * expected_frames))
    if abs(frames - expected_frames) > allowed:
        return False, f"{frames} frames, expected {expected_frames} ± {allowed}", frames
    if frames >= 2 and with_vectors == 0:
        return False, "no motion vectors", frames
    return True, "", frames


def _even(x: int) -> int:
    return max(2, x - x % 2)


def _output_size(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    if short_side:
        scale = short_side / min(width, height)
        width, height = round(width * scale), round(height * scale)
    return _even(width), _even(height)


def _encode(source: Path, temp: Path, settings: EncodeSettings) -> int:
    """Decodes ``source`` and writes H.264 frames (renumbered 0, 1, ... at the average rate) to ``temp``.
    Returns the number of frames written."""
    with av.open(str(source)) as src:
        if not src.streams.video:
            raise ValueError("no video stream")
        in_stream = src.streams.video[0]
        in_stream.thread_type = "AUTO"
        rate = in_stream.average_rate or in_stream.guessed_rate or Fraction(25)
        rate = Fraction(rate).limit_denominator(100000)
        width, height = _output_size(in_stream.codec_context.width, in_stream.codec_context.height,
                                     settings.short_side)
        written = 0
        with av.open(str(temp), mode="w", format="mp4") as dst:
            out_stream = dst.add_stream("libx264", rate=rate)
            out_stream.width, out_stream.height, out_stream.pix_fmt = width, height, "yuv420p"
            out_stream.codec_context.options = settings.x264_options(float(rate))
            for frame in src.decode(in_stream):
                image = frame.reformat(width=width, height=height, format="yuv420p")
                image.pts, image.time_base = written, 1 / rate
                # libx264 obeys a frame's picture type: without this reset the source's own frame
                # types (every frame of a VP9 decode is I or P) would be forced onto the encode.
                image.pict_type = PictureType.NONE
                dst.mux(out_stream.encode(image))
                written += 1
            dst.mux(out_stream.encode(None))
    if written == 0:
        raise ValueError("no frames decoded")
    return written


def transcode_file(
    source: str | Path, output: str | Path, settings: EncodeSettings, force: bool = False
) -> TranscodeResult:
    """Transcodes ``source`` to H.264 at ``output`` through a temporary file renamed on success.

    An existing ``output`` that verifies against the source's frame count is kept (``skipped``)
    unless ``force``; an invalid one is re-encoded. Never writes onto ``source``.
    """
    source, output = Path(source), Path(output)
    if output.exists() and os.path.samefile(source, output):
        return TranscodeResult(str(source), str(output), "failed", "output is the source file itself")
    reencode_note = ""
    if output.exists() and not force:
        try:
            expected = count_frames(source)
        except (av.error.FFmpegError, OSError, ValueError) as error:
            return TranscodeResult(str(source), str(output), "failed", f"source unreadable: {error}")
        ok, reason, frames = verify_h264(output, expected, settings.frame_tolerance)
        if ok:
            return TranscodeResult(str(source), str(output), "skipped", frames=frames)
        reencode_note = f"existing output was invalid ({reason}); re-encoded"
    output.parent.mkdir(parents=True, exist_ok=True)
    for stale in output.parent.glob(f".{output.stem}.tmp-*.mp4"):  # left by a killed run
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    temp = output.with_name(f".{output.stem}.tmp-{os.getpid()}.mp4")
    try:
        expected = count_frames(source)
        _encode(source, temp, settings)
        # Checked against the source's packets, so a source that stops decoding early is caught.
        ok, reason, frames = verify_h264(temp, expected, settings.frame_tolerance)
        if not ok:
            return TranscodeResult(str(source), str(output), "failed", f"output failed verification: {reason}")
        os.replace(temp, output)
    except (av.error.FFmpegError, OSError, ValueError, RuntimeError) as error:
        return TranscodeResult(str(source), str(output), "failed", f"{type(error).__name__}: {error}")
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return TranscodeResult(str(source), str(output), "encoded", reencode_note, frames)
