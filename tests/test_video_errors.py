"""Bad input gives a VideoReadError naming the file and the reason; short clips loop or repeat."""

from __future__ import annotations

import pickle
from fractions import Fraction

import av
import numpy as np
import pytest

from mgm_hf.video import VideoReadError, probe_video, read_clip, write_moving_square_video


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    root = tmp_path_factory.mktemp("errors")
    return {
        "mp4": write_moving_square_video(
            root / "good.mp4", num_frames=30, size=(64, 64), velocity=(2.0, 0.0)
        ),
        "mkv": write_moving_square_video(root / "good.mkv", num_frames=30, size=(64, 64)),
        "webm": write_moving_square_video(
            root / "good.webm", codec="libvpx-vp9", num_frames=30, size=(64, 64)
        ),
        "short": write_moving_square_video(
            root / "short.mp4",
            num_frames=10,
            size=(64, 64),
            square_size=24,
            velocity=(2.0, 0.0),
            start=(4, 20),
        ),
    }


def _raises(path, match: str) -> VideoReadError:
    with pytest.raises(VideoReadError, match=match) as info:
        read_clip(path, num_frames=4, frame_stride=2, start_frame=0)
    assert info.value.path == str(path)
    assert info.value.reason and info.value.reason in str(info.value)
    return info.value


def test_missing_file(tmp_path):
    err = _raises(tmp_path / "nope.mp4", "not found")
    assert err.reason == "file not found"


def test_empty_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    _raises(path, "empty")


def test_directory(tmp_path):
    _raises(tmp_path, "directory")


def test_not_a_video(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is a text file, not a video\n" * 50)
    _raises(path, "cannot open")


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.mkv"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    _raises(path, "cannot open|truncated|corrupt|no video")


def test_no_video_stream(tmp_path):
    path = tmp_path / "audio.wav"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        frame.pts = 0
        frame.time_base = Fraction(1, 8000)
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    _raises(path, "no video stream")
    with pytest.raises(VideoReadError, match="no video stream"):
        probe_video(path)


@pytest.mark.parametrize("kind", ["mp4", "mkv", "webm"])
@pytest.mark.parametrize("keep", [0.5, 0.85])
def test_truncated(good, tmp_path, kind, keep):
    data = good[kind].path.read_bytes()
    path = tmp_path / f"cut.{kind}"
    path.write_bytes(data[: int(len(data) * keep)])
    _raises(path, "truncated|cannot open|corrupt")


def test_vectors_asked_from_vp9(good):
    with pytest.raises(VideoReadError, match="exports no motion vectors"):
        read_clip(good["webm"].path, 4, 2, start_frame=0, motion="motion_vectors")
    with pytest.raises(VideoReadError, match="exports no motion vectors"):
        read_clip(good["webm"].path, 4, 2, start_frame=0, fallback="error")


def test_bad_arguments(good):
    with pytest.raises(ValueError, match="motion must be"):
        read_clip(good["mp4"].path, 4, 2, start_frame=0, motion="magic")
    with pytest.raises(ValueError, match="short_clip"):
        read_clip(good["mp4"].path, 40, 2, start_frame=0, short_clip="bounce")
    with pytest.raises(ValueError, match="sampling"):
        read_clip(good["mp4"].path, 4, 2, sampling="zigzag")


def test_error_pickles_with_path_and_reason(tmp_path):
    err = VideoReadError(tmp_path / "x.mp4", "file not found")
    back = pickle.loads(pickle.dumps(err))
    assert (back.path, back.reason, str(back)) == (err.path, err.reason, str(err))


# ------------------------------------------------------------------------------ short clips
def _plain(path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(container.streams.video[0])])


def test_short_clip_loops(good):
    video = good["short"]
    clip = read_clip(
        video.path, num_frames=8, frame_stride=2, start_frame=0, short_clip="loop", motion="motion_vectors"
    )
    np.testing.assert_array_equal(clip.frame_indices, [0, 2, 4, 6, 8, 0, 2, 4])
    np.testing.assert_array_equal(clip.frames, _plain(video.path)[clip.frame_indices])
    # After the wrap, frame 2 still carries the motion that led into it (2 frames x 2 px).
    x, y = video.positions[2]
    cells = clip.motion[6, int(np.ceil(y / 8)) : int((y + 24) // 8), int(np.ceil(x / 8)) : int((x + 24) // 8)]
    np.testing.assert_allclose(np.median(cells.reshape(-1, 2), 0), (4.0, 0.0), atol=0.75)


def test_short_clip_repeats_the_last_frame(good):
    video = good["short"]
    clip = read_clip(
        video.path,
        num_frames=8,
        frame_stride=2,
        start_frame=0,
        short_clip="repeat_last",
        motion="motion_vectors",
    )
    np.testing.assert_array_equal(clip.frame_indices, [0, 2, 4, 6, 8, 9, 9, 9])
    np.testing.assert_array_equal(clip.frames, _plain(video.path)[clip.frame_indices])
    assert np.all(clip.motion[6:] == 0)  # a repeated frame does not move
    assert np.abs(clip.motion[5]).max() > 0.5  # 8 -> 9 is a real step


def test_short_clip_with_flow(good):
    clip = read_clip(good["short"].path, num_frames=6, frame_stride=3, start_frame=0, motion="optical_flow")
    np.testing.assert_array_equal(clip.frame_indices, [0, 3, 6, 9, 2, 5])
    assert clip.motion.shape == (6, 64, 64, 2)


# ------------------------------------------------------------------ the reader boundary
@pytest.mark.parametrize("kind", ["mp4", "mkv"])
def test_damaged_bytes_give_a_clip_or_a_video_read_error(good, tmp_path, kind):
    """Random byte damage in a real file: every read returns a clip or raises VideoReadError (what
    the data pipeline skips); no PyAV error, UnicodeDecodeError or AttributeError leaks out."""
    data = good[kind].path.read_bytes()
    rng = np.random.default_rng(0)
    outcomes = []
    for trial in range(48):
        damaged = bytearray(data)
        for i in rng.integers(0, len(data), 20):
            damaged[i] = int(rng.integers(0, 256))
        path = tmp_path / f"damaged_{trial}.{kind}"
        path.write_bytes(bytes(damaged))
        try:
            read_clip(path, num_frames=8, frame_stride=2, seed=trial)
            outcomes.append("clip")
        except VideoReadError:
            outcomes.append("skipped")
    assert "skipped" in outcomes


def test_unknown_codec_is_a_video_read_error(good, tmp_path):
    path = tmp_path / "unknown_codec.mkv"
    path.write_bytes(good["mkv"].path.read_bytes().replace(b"V_MPEG4/ISO/AVC", b"V_QQQQQ/ISO/AVC"))
    _raises(path, "no decoder for the video stream")
    with pytest.raises(VideoReadError, match="no decoder"):
        probe_video(path)


def test_metadata_in_latin1_is_no_reason_to_reject_a_video(tmp_path):
    path = tmp_path / "latin1.mp4"
    with av.open(str(path), "w", metadata_encoding="latin-1") as container:
        container.metadata["title"] = "café"  # the byte 0xE9 is not UTF-8
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(12):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 10 * i, np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    clip = read_clip(path, num_frames=4, frame_stride=2, start_frame=0, motion="none")
    np.testing.assert_array_equal(clip.frame_indices, [0, 2, 4, 6])
    assert clip.frames.shape == (4, 48, 64, 3) and probe_video(path).num_frames == 12
