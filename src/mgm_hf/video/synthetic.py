"""Real test videos with known motion: a textured square moving over a textured background.

Everything here writes real files with PyAV so tests exercise the same decoder as training.
Sizes are ``(height, width)``; positions and velocities are ``(x, y)`` in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

__all__ = [
    "SyntheticVideo",
    "linear_gradient",
    "moving_square_frames",
    "moving_square_motion",
    "random_texture",
    "smooth_moving_square_frames",
    "write_moving_square_video",
    "write_video",
]


def write_video(
    path: str | Path,
    frames: np.ndarray,
    *,
    codec: str = "libx264",
    fps: int = 25,
    options: dict[str, str] | None = None,
    pix_fmt: str = "yuv420p",
) -> Path:
    """Encodes RGB frames into a real video file with PyAV and returns its path.

    Args:
        path: output file; the container is inferred from its suffix (``.mp4``, ``.webm``, ``.mkv``,
            ``.avi``, ``.mpg``).
        frames: uint8 ``(T, H, W, 3)`` RGB; ``H`` and ``W`` must be even for yuv420p.
        codec: an FFmpeg encoder name, e.g. ``libx264``, ``libvpx-vp9``, ``mpeg4``, ``mpeg2video``.
        fps: frames per second.
        options: encoder options, e.g. ``{"bf": "2", "g": "12", "refs": "1"}`` or
            ``{"x264-params": "bframes=2:keyint=12"}``.
        pix_fmt: pixel format of the encoded stream.
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames.shape[1:3]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps))
        stream.width = width
        stream.height = height
        stream.pix_fmt = pix_fmt
        if options:
            stream.codec_context.options = dict(options)
        for i, array in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def _texture(rng: np.random.Generator, height: int, width: int, sigma: float) -> np.ndarray:
    """Multi-scale colour noise, uint8 ``(height, width, 3)``.

    Noise blurred at ``sigma``, ``3 sigma`` and ``8 sigma`` and summed (coarse scales weigh more, as
    in natural images): fine detail for block matching, coarse structure for pyramidal optical flow
    (DIS and Farneback fail on white-ish noise once it is compressed), smooth enough to survive
    chroma subsampling.
    """
    out = np.zeros((height, width, 3), np.float32)
    for scale, weight in ((1.0, 1.0), (3.0, 1.5), (8.0, 2.0)):
        noise = rng.uniform(-1.0, 1.0, size=(height, width, 3)).astype(np.float32)
        blurred = cv2.GaussianBlur(noise, (0, 0), sigmaX=sigma * scale, borderType=cv2.BORDER_REFLECT)
        out += weight * blurred / (blurred.std() + 1e-6)
    lo, hi = out.min(), out.max()
    return np.clip((out - lo) * (235.0 / max(hi - lo, 1e-6)) + 10.0, 0, 255).astype(np.uint8)


def random_texture(height: int, width: int, sigma: float = 1.5, seed: int = 0) -> np.ndarray:
    """A static multi-scale colour texture, uint8 ``(height, width, 3)`` (the background of
    :func:`moving_square_frames`), for tests that need real image content (e.g. a zoom)."""
    return _texture(np.random.default_rng(seed), height, width, sigma)


def _composite_moving_square(
    bg: np.ndarray, square: np.ndarray, start: tuple[float, float], velocity: tuple[float, float], num_frames: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pastes ``square`` (s, s, 3) over the static ``bg`` (H, W, 3) at ``start + t * velocity`` (top-left
    (x, y), sub-pixel positions warped bilinearly). Returns uint8 frames (T, H, W, 3), positions (T, 2)."""
    height, width = bg.shape[:2]
    bg = bg.astype(np.float32)
    square = square.astype(np.float32)
    positions = (
        np.asarray(start, np.float64)[None, :]
        + np.arange(num_frames)[:, None] * np.asarray(velocity, np.float64)[None, :]
    )
    alpha = np.ones(square.shape[:2], np.float32)
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    for t, (x, y) in enumerate(positions):
        # Warp the square (and its coverage) to its sub-pixel position, then composite.
        matrix = np.float32([[1, 0, x], [0, 1, y]])
        warp = {"dsize": (width, height), "flags": cv2.INTER_LINEAR, "borderMode": cv2.BORDER_CONSTANT,
                "borderValue": 0}
        warped = cv2.warpAffine(square, matrix, **warp)
        cover = cv2.warpAffine(alpha, matrix, **warp)[..., None]
        frames[t] = np.clip(np.rint(bg * (1.0 - cover) + warped), 0, 255).astype(np.uint8)
    return frames, positions


def moving_square_frames(
    num_frames: int = 24,
    size: tuple[int, int] = (64, 64),
    square_size: int = 16,
    velocity: tuple[float, float] = (3.0, 0.0),
    start: tuple[float, float] = (8, 8),
    background: str = "noise",
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """A textured square moving at constant velocity over a static background.

    Args:
        num_frames: T.
        size: ``(H, W)`` of the frames.
        square_size: side of the square in pixels.
        velocity: ``(vx, vy)`` in pixels per frame (fractional values are rendered with bilinear
            sub-pixel interpolation).
        start: top-left ``(x, y)`` of the square in frame 0.
        background: ``"noise"`` (static smoothed noise texture) or ``"flat"`` (uniform grey).
        seed: seed of both textures.

    Returns:
        ``frames`` uint8 ``(T, H, W, 3)`` and ``positions`` float64 ``(T, 2)``: the square's top-left
        ``(x, y)`` in each frame. The square is clipped where it leaves the frame (it is not wrapped),
        so choose ``size``/``velocity`` to keep it inside when a test needs the whole square.
    """
    if background not in ("noise", "flat"):
        raise ValueError(f"background must be 'noise' or 'flat', got {background!r}.")
    height, width = size
    rng = np.random.default_rng(seed)
    if background == "noise":
        bg = _texture(rng, height, width, sigma=1.5)
    else:
        bg = np.full((height, width, 3), 128, np.uint8)
    square = _texture(rng, square_size, square_size, sigma=1.0).astype(np.float32)
    return _composite_moving_square(bg, square, start, velocity, num_frames)


def linear_gradient(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A linear colour ramp in a random direction, uint8 ``(height, width, 3)``.

    Each channel runs between a dark level in [10, 60] and a light one in [195, 245] (which end is
    which is drawn per channel) from one corner of the frame to the opposite one along the ramp's
    direction: a slope of 1.5–3.7 levels per pixel per channel on 64², well above the codec's
    quantisation noise. After norm_pix_loss's per-patch normalisation a patch is the same ramp as
    its neighbours, i.e. predictable from them (unlike :func:`random_texture`, whose normalised
    patches are noise).
    """
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    extent = abs(np.cos(angle)) * width + abs(np.sin(angle)) * height  # projection of the frame
    u = (np.cos(angle) * (xx - width / 2) + np.sin(angle) * (yy - height / 2)) / extent + 0.5  # in [0, 1]
    dark, light = rng.uniform(10, 60, 3), rng.uniform(195, 245, 3)
    flip = rng.random(3) < 0.5
    lo, hi = np.where(flip, light, dark), np.where(flip, dark, light)
    return np.clip(np.rint(lo + u[..., None] * (hi - lo)), 0, 255).astype(np.uint8)


def smooth_moving_square_frames(
    num_frames: int = 24,
    size: tuple[int, int] = (64, 64),
    square_size: int = 16,
    velocity: tuple[float, float] = (3.0, 0.0),
    start: tuple[float, float] = (8, 8),
    seed: int = 0,
    square_sigma: float = 1.5,
    background_detail: float = 12.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`moving_square_frames`, with appearance that has spatial structure: the background
    is a :func:`linear_gradient` plus faint fine texture (±``background_detail`` levels: on a bare
    ramp, block matching finds equally good non-zero motion vectors along the ramp's iso-lines) and
    the square a multi-scale texture at ``square_sigma`` (1.5 px, scales up to 12 px: smoother than
    :func:`moving_square_frames`' square, detailed enough for block-matching motion vectors that
    follow the square). Same returns."""
    height, width = size
    rng = np.random.default_rng(seed)
    bg = linear_gradient(height, width, seed=int(rng.integers(2**31 - 1))).astype(np.float32)
    detail = _texture(rng, height, width, sigma=1.0).astype(np.float32)
    bg = np.clip(bg + background_detail * (detail - detail.mean()) / (np.abs(detail - detail.mean()).max() + 1e-6),
                 0, 255)
    square = _texture(rng, square_size, square_size, sigma=square_sigma).astype(np.float32)
    return _composite_moving_square(bg, square, start, velocity, num_frames)


def moving_square_motion(
    positions: np.ndarray, size: tuple[int, int], square_size: int, first: str = "zero"
) -> np.ndarray:
    """Ground-truth motion (``motion[t, y, x] = (dx, dy)`` since frame t-1) of :func:`moving_square_frames`.

    ``motion[t, y, x]`` is the square's displacement ``positions[t] - positions[t-1]`` on the pixels
    the square covers in frame t, zero elsewhere (the background is static). ``first="zero"`` gives
    frame 0 zero motion; ``first="velocity"`` gives it the step from the (virtual) frame before.

    Returns:
        float32 ``(T, H, W, 2)``.
    """
    positions = np.asarray(positions, np.float64)
    height, width = size
    steps = np.zeros_like(positions)
    steps[1:] = positions[1:] - positions[:-1]
    if first == "velocity" and len(positions) > 1:
        steps[0] = steps[1]
    motion = np.zeros((len(positions), height, width, 2), np.float32)
    for t, (x, y) in enumerate(positions):
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        x1, y1 = int(np.ceil(x + square_size)), int(np.ceil(y + square_size))
        motion[t, max(y0, 0) : max(min(y1, height), 0), max(x0, 0) : max(min(x1, width), 0)] = steps[t]
    return motion


@dataclass
class SyntheticVideo:
    """A written moving-square video and its ground truth.

    Attributes:
        path: the video file.
        positions: float64 ``(T, 2)`` top-left ``(x, y)`` of the square per frame.
        velocity: ``(vx, vy)`` pixels per frame.
        square_size: side of the square.
        size: ``(H, W)``.
        frames: the uint8 ``(T, H, W, 3)`` frames that were encoded (before compression).
    """

    path: Path
    positions: np.ndarray
    velocity: tuple[float, float]
    square_size: int
    size: tuple[int, int]
    frames: np.ndarray | None = None

    @property
    def num_frames(self) -> int:
        return len(self.positions)


def write_moving_square_video(
    path: str | Path,
    *,
    codec: str = "libx264",
    options: dict[str, str] | None = None,
    fps: int = 25,
    **moving_square_kwargs,
) -> SyntheticVideo:
    """Renders :func:`moving_square_frames` (kwargs passed through) and encodes it with ``codec``."""
    frames, positions = moving_square_frames(**moving_square_kwargs)
    path = write_video(path, frames, codec=codec, fps=fps, options=options)
    velocity = tuple(float(v) for v in moving_square_kwargs.get("velocity", (3.0, 0.0)))
    return SyntheticVideo(
        path=path,
        positions=positions,
        velocity=velocity,  # type: ignore[arg-type]
        square_size=int(moving_square_kwargs.get("square_size", 16)),
        size=tuple(frames.shape[1:3]),  # type: ignore[arg-type]
        frames=frames,
    )
