"""Laying panels out: one picture (:func:`compose_grid`) or one picture per frame (:func:`compose_frames`).

Both put an optional title band on top, a name column on the left (each row's name and legend) and
a header row of frame numbers (1-based) above the frames. The grid wraps the frames into bands of
rows so that it stays at most ``max_width`` pixels wide (16 frames of 224 px in one line would be
3.7k px, too wide for a screen).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from .panels import LABEL_WIDTH, Panel
from .text import BACKGROUND, LABEL_FONT_SIZE, PADDING, draw_lines, line_height, text_band, wrap

MAX_WIDTH = 1600  # pixels: a grid wider than this wraps its frames into bands
BAND_GAP = 8  # white pixels between bands


def default_scale(height: int) -> int:
    """Integer upscaling so a panel is at least 112 pixels tall."""
    return max(1, -(-112 // height))


def frames_per_band(num_frames: int, frame_width: int, max_width: int = MAX_WIDTH) -> int:
    """Frames per band so that ``LABEL_WIDTH + n * frame_width <= max_width`` (at least 1), spread
    evenly over the fewest bands (16 frames, 6 fit: bands of 6, 6, 4)."""
    fit = max(1, (max_width - LABEL_WIDTH) // frame_width)
    bands = -(-num_frames // fit)
    return -(-num_frames // bands)


def _upscale(frames: np.ndarray, scale: int) -> np.ndarray:
    return frames if scale == 1 else frames.repeat(scale, axis=-3).repeat(scale, axis=-2)


def _label(panel: Panel, height: int) -> np.ndarray:
    """The name cell: the wrapped name on top, the legend (shrunk to fit if needed) below it."""
    image = Image.new("RGB", (LABEL_WIDTH, height), BACKGROUND)
    y = draw_lines(image, wrap(panel.name, LABEL_WIDTH - 2 * PADDING, LABEL_FONT_SIZE), LABEL_FONT_SIZE)
    if panel.legend is not None and height - y - PADDING > 8:
        legend = Image.fromarray(panel.legend)
        room = height - y - PADDING
        if legend.height > room:
            legend = legend.resize((max(1, legend.width * room // legend.height), room), Image.Resampling.LANCZOS)
        image.paste(legend, ((LABEL_WIDTH - legend.width) // 2, y))
    return np.asarray(image)


def _header(numbers: Sequence[str], frame_width: int, width: int) -> np.ndarray:
    """A row naming each column: ``frame`` in the name column, then one text per frame."""
    image = Image.new("RGB", (width, line_height(LABEL_FONT_SIZE) + PADDING), BACKGROUND)
    draw_lines(image, ["frame"], LABEL_FONT_SIZE, y=2)
    for i, text in enumerate(numbers):
        draw_lines(image, [text], LABEL_FONT_SIZE, x=LABEL_WIDTH + i * frame_width + PADDING, y=2)
    return np.asarray(image)


def compose_grid(panels: Sequence[Panel], scale: int = 1, title: str | None = None,
                 max_width: int = MAX_WIDTH) -> np.ndarray:
    """One picture: [title], then per band of frames a header and a row per panel, names on the left.

    Args:
        panels: rows of equal (T, H, W).
        scale: integer upscaling of every frame.
        title: text of the band on top (wrapped), None for none.
        max_width: the picture's width limit (exceeded only when one frame alone is wider).

    Returns:
        uint8 (title + bands * (header + R * H * scale) + gaps, LABEL_WIDTH + n * W * scale, 3),
        n = :func:`frames_per_band`.
    """
    frames = [_upscale(p.frames, scale) for p in panels]
    num_frames, height, frame_width = frames[0].shape[:3]
    per_band = frames_per_band(num_frames, frame_width, max_width)
    width = LABEL_WIDTH + per_band * frame_width
    labels = [_label(p, height) for p in panels]
    parts = [] if title is None else [text_band(title, width)]
    for start in range(0, num_frames, per_band):
        stop = min(num_frames, start + per_band)
        if start:
            parts.append(np.full((BAND_GAP, width, 3), 255, np.uint8))
        parts.append(_header([str(t + 1) for t in range(start, stop)], frame_width, width))
        for label, row in zip(labels, frames):
            strip = np.full((height, width, 3), 255, np.uint8)
            strip[:, :LABEL_WIDTH] = label
            strip[:, LABEL_WIDTH : LABEL_WIDTH + (stop - start) * frame_width] = np.concatenate(row[start:stop], axis=1)
            parts.append(strip)
    return np.concatenate(parts, axis=0)


def compose_frames(panels: Sequence[Panel], scale: int = 1, title: str | None = None) -> np.ndarray:
    """A video: [title], a header ``t of T``, then frame t of every row stacked, names on the left.

    Returns:
        uint8 (T, title + header + R * H * scale, LABEL_WIDTH + W * scale, 3).
    """
    frames = [_upscale(p.frames, scale) for p in panels]
    num_frames, height, frame_width = frames[0].shape[:3]
    width = LABEL_WIDTH + frame_width
    top = np.zeros((0, width, 3), np.uint8) if title is None else text_band(title, width)
    body = np.concatenate([np.concatenate([np.broadcast_to(_label(p, height), (num_frames, height, LABEL_WIDTH, 3)),
                                           f], axis=2) for p, f in zip(panels, frames)], axis=1)
    headers = [_header([f"{t + 1} of {num_frames}"], frame_width, width) for t in range(num_frames)]
    return np.stack([np.concatenate([top, headers[t], body[t]], axis=0) for t in range(num_frames)])


__all__ = ["BAND_GAP", "MAX_WIDTH", "compose_frames", "compose_grid", "default_scale", "frames_per_band"]
